/** The systemd-units row's parsing and its sandbox judgement (live use: the local-stack test). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseShow, sandboxProblems } from "../../../infra/verify/checks/units";

const SHOW = `Id=nginx.service
ActiveState=active
SubState=running
UnitFileState=enabled
NRestarts=0
User=www-data
NoNewPrivileges=yes
ProtectSystem=strict
CapabilityBoundingSet=cap_net_bind_service

Id=ssh.service
ActiveState=active
SubState=running
UnitFileState=enabled
NRestarts=0
User=
NoNewPrivileges=no
ProtectSystem=no
CapabilityBoundingSet=cap_chown cap_dac_override`;

test("systemctl show blocks are read per unit", () => {
    const units = parseShow(SHOW);
    assert.deepEqual([...units.keys()], ["nginx.service", "ssh.service"]);
    assert.equal(units.get("nginx.service")?.User, "www-data");
});

test("the nginx sandbox as systemd applied it: each weakening is named", () => {
    const nginx = parseShow(SHOW).get("nginx.service")!;
    assert.deepEqual(sandboxProblems(nginx), []);
    assert.deepEqual(sandboxProblems({ ...nginx, User: "" }), ["nginx runs as root"]);
    assert.deepEqual(sandboxProblems({ ...nginx, NoNewPrivileges: "no" }), ["nginx NoNewPrivileges=no"]);
    assert.deepEqual(sandboxProblems({ ...nginx, ProtectSystem: "full" }), ["nginx ProtectSystem=full"]);
    assert.deepEqual(sandboxProblems({ ...nginx, CapabilityBoundingSet: "cap_net_bind_service cap_sys_admin" }), ["nginx CapabilityBoundingSet=cap_net_bind_service cap_sys_admin"]);
});
