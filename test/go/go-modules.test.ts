// The project's Go modules (engine/providers: the tls and command plugins; services: the
// API-key check service and the local stack's upstream) stay gofmt-clean, pass go vet, and
// pass their own go tests (services' run against a real redis-server and real HTTP/2, gRPC
// and WebSocket clients). They ship as binaries, so a finding here is a bug that ships.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../integration/engine-helpers";

const modules = ["engine/providers", "services"];
const goEnv = { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=mod" };

for (const module of modules) {
    const dir = path.join(repoRoot, module);
    describe(`Go module ${module}`, { timeout: 300_000 }, () => {
        it("is gofmt-clean", () => {
            const r = spawnSync("gofmt", ["-l", "."], { cwd: dir, encoding: "utf8" });
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.stdout, "", `not gofmt-formatted:\n${r.stdout}`);
        });

        it("passes go vet", () => {
            const r = spawnSync("go", ["vet", "./..."], { cwd: dir, encoding: "utf8", env: goEnv });
            assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
        });

        it("passes go test", () => {
            const r = spawnSync("go", ["test", "-count=1", "./..."], { cwd: dir, encoding: "utf8", env: goEnv });
            assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
        });
    });
}
