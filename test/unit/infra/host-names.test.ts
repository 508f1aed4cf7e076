import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { proxyHostNames } from "../../../infra/targets/aws";

describe("AWS proxy host names", () => {
    test("one distinct, valid host name per pair, past 26 pairs too (proxy-z, proxy-aa, ...)", () => {
        assert.deepEqual(proxyHostNames(3), ["proxy-a", "proxy-b", "proxy-c"]);
        const names = proxyHostNames(64);
        assert.deepEqual([names[25], names[26], names[27], names[51], names[52], names[63]], ["proxy-z", "proxy-aa", "proxy-ab", "proxy-az", "proxy-ba", "proxy-bl"]);
        assert.equal(new Set(names).size, 64);
        for (const n of names) assert.match(n, /^[a-z][a-z0-9-]{0,62}$/);
    });
});
