// The providers' Go sources stay gofmt-clean and pass go vet (they are built by npm run setup,
// so a vet finding is a bug that ships).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../integration/engine-helpers";

const providers = path.join(repoRoot, "engine", "providers");

describe("engine/providers Go sources", { timeout: 240_000 }, () => {
    it("are gofmt-clean", () => {
        const r = spawnSync("gofmt", ["-l", "."], { cwd: providers, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "", `not gofmt-formatted:\n${r.stdout}`);
    });

    it("pass go vet", () => {
        const r = spawnSync("go", ["vet", "./..."], { cwd: providers, encoding: "utf8", env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=mod" } });
        assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    });
});
