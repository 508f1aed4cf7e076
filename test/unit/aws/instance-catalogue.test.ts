import { test } from "node:test";
import assert from "node:assert/strict";
import {
    ALLOWED_INSTANCE_TYPES, MIN_INSTANCE_STORE_GB, MIN_MEMORY_GIB, MIN_VCPUS, SUGGESTED_INSTANCE_TYPES,
    checkInstanceType, instanceTypeInfo,
} from "../../../components/compute/instance-catalogue";

function reason(instanceType: string): string {
    const result = checkInstanceType(instanceType);
    assert.equal(result.ok, false, `${instanceType} should be refused`);
    return result.ok ? "" : result.reason;
}

test("catalogue: the seed's minimums are 4 vCPU, 8 GiB, 50 GB NVMe", () => {
    assert.deepEqual([MIN_VCPUS, MIN_MEMORY_GIB, MIN_INSTANCE_STORE_GB], [4, 8, 50]);
});

test("catalogue: allowed types are accepted with their facts", () => {
    for (const t of ["c5d.xlarge", "c5ad.xlarge", "c6id.xlarge", "c6id.2xlarge", "m5d.xlarge", "m5ad.xlarge", "m6id.xlarge",
        "m6idn.xlarge", "r5d.xlarge", "r6id.xlarge", "i3en.xlarge", "i4i.xlarge", "x2idn.16xlarge"]) {
        const result = checkInstanceType(t);
        assert.equal(result.ok, true, t);
        assert.ok(ALLOWED_INSTANCE_TYPES.includes(t), t);
    }
    const info = checkInstanceType("c6id.2xlarge");
    assert.ok(info.ok);
    assert.deepEqual(info.ok && { vcpus: info.info.vcpus, mem: info.info.memoryGib, nvme: info.info.instanceStoreGb }, { vcpus: 8, mem: 16, nvme: 474 });
});

test("catalogue: every allowed type meets every minimum, and no ARM or diskless family sneaks in", () => {
    assert.ok(ALLOWED_INSTANCE_TYPES.length > 20);
    for (const t of ALLOWED_INSTANCE_TYPES) {
        const info = instanceTypeInfo(t);
        assert.ok(info, t);
        assert.ok(info.vcpus >= 4 && info.memoryGib >= 8 && info.instanceStoreGb >= 50, t);
        assert.doesNotMatch(info.family, /^[a-z]+\d+g/, `${t} looks like Graviton`);
        assert.match(info.family, /d|^i/, `${t}: local-NVMe families carry a "d" or are storage-optimised "i"`);
    }
});

test("catalogue: ARM (Graviton) types are refused as ARM, with suggestions", () => {
    for (const t of ["c7gd.xlarge", "c6gd.xlarge", "m6gd.xlarge", "r7gd.2xlarge", "x2gd.xlarge", "im4gn.xlarge", "is4gen.xlarge", "a1.xlarge", "c8g.xlarge"]) {
        const r = reason(t);
        assert.match(r, new RegExp(`^"${t.replace(".", "\\.")}" is ARM \\(Graviton, no AES-NI\\); choose one of `), t);
        assert.match(r, /c6id\.xlarge/);
    }
});

test("catalogue: too-small sizes are refused with the vCPU count", () => {
    assert.match(reason("c6id.large"), /^"c6id\.large" has 2 vCPU \(< 4\)/);
    assert.match(reason("c5d.large"), /has 2 vCPU \(< 4\)/);
    assert.match(reason("m5d.large"), /has 2 vCPU \(< 4\)/);
});

test("catalogue: types without local NVMe are refused as such", () => {
    for (const t of ["c7i.xlarge", "c6i.xlarge", "m5.xlarge", "t3.xlarge", "m7i.2xlarge"]) {
        assert.match(reason(t), new RegExp(`^"${t.replace(".", "\\.")}" has no local NVMe instance store; choose one of `), t);
    }
});

test("catalogue: unknown types are refused as unknown", () => {
    for (const t of ["", "c6id", "C6ID.XLARGE", "z9zz.xlarge", "c6id.99xlarge", "constructor.xlarge", "toString.x"]) {
        assert.match(reason(t), /unknown instance type/, JSON.stringify(t));
    }
});

test("catalogue: suggestions are allowed types, one per family", () => {
    assert.ok(SUGGESTED_INSTANCE_TYPES.every((t) => checkInstanceType(t).ok));
    const families = SUGGESTED_INSTANCE_TYPES.map((t) => t.split(".")[0]);
    assert.equal(new Set(families).size, families.length);
});
