import { test } from "node:test";
import assert from "node:assert/strict";
import {
    FIREWALLD_CONF_PATH, FIREWALLD_DIRECT_PATH, FIREWALLD_EGRESS_POLICY_PATH, FIREWALLD_ZONE_PATH, renderFirewalld,
} from "../../../components/host/firewall-firewalld";
import { rhelHost } from "./fixtures";
import { findFile, have, run, withTempDir, writeIn } from "./tools";

const files = renderFirewalld(rhelHost);
const zone = findFile(files, FIREWALLD_ZONE_PATH).content;
const policy = findFile(files, FIREWALLD_EGRESS_POLICY_PATH).content;
const direct = findFile(files, FIREWALLD_DIRECT_PATH).content;
const conf = findFile(files, FIREWALLD_CONF_PATH).content;

/** Well-formedness with a real XML parser (python3's expat) when present, else a tag-balance check. */
function assertWellFormed(xml: string): void {
    if (have("xmllint")) {
        withTempDir((dir) => {
            const result = run("xmllint", ["--noout", writeIn(dir, "f.xml", xml)]);
            assert.equal(result.status, 0, result.stderr);
        });
        return;
    }
    if (have("python3")) {
        withTempDir((dir) => {
            const path = writeIn(dir, "f.xml", xml);
            const result = run("python3", ["-c", "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])", path]);
            assert.equal(result.status, 0, result.stderr);
        });
        return;
    }
    console.log("# firewalld: neither xmllint nor python3 present; using the built-in tag-balance check");
    const stack: string[] = [];
    const body = xml.replace(/<\?xml[^>]*\?>/, "").replace(/<!--[\s\S]*?-->/g, "");
    for (const match of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w-]+="[^"<&]*")*)\s*(\/?)>/g)) {
        const [, closing, name, , selfClosing] = match;
        if (selfClosing) continue;
        if (closing) assert.equal(stack.pop(), name);
        else stack.push(name!);
    }
    assert.deepEqual(stack, []);
}

test("firewalld: every XML file is well-formed", () => {
    for (const xml of [zone, policy, direct]) {
        assertWellFormed(xml);
    }
});

test("firewalld: a malformed document is detected (the check is real)", () => {
    assert.throws(() => assertWellFormed(zone.replace("</zone>", "")));
});

test("firewalld: zone target DROP and it is the default zone", () => {
    assert.match(zone, /<zone target="DROP">/);
    assert.match(conf, /^DefaultZone=apiproxy$/m);
    assert.match(conf, /^CleanupOnExit=no$/m);
    assert.match(conf, /^AllowZoneDrifting=no$/m);
});

test("firewalld: rich rules - 443/8443 from traffic, health from LB, SSH only from management", () => {
    const rules = zone.split("\n").filter((line) => line.includes("<rule"));
    const ssh = rules.filter((line) => line.includes('port="22"'));
    assert.deepEqual(ssh.map((line) => /source address="([^"]+)"/.exec(line)?.[1]), rhelHost.managementCidrs);
    assert.ok(rules.some((line) => line.includes('<source address="0.0.0.0/0"/><port port="443" protocol="tcp"/><accept/>')));
    assert.ok(rules.some((line) => line.includes('<source address="::/0"/><port port="8443" protocol="tcp"/><accept/>')));
    assert.ok(rules.some((line) => line.includes('<source address="10.0.1.0/24"/><port port="8081" protocol="tcp"/><accept/>')));
    // Every port rule names a source.
    for (const line of rules.filter((l) => l.includes("<port "))) {
        assert.match(line, /<source address=/);
    }
    assert.doesNotMatch(zone, /<service /, "no broad service entries (e.g. ssh from anywhere)");
});

test("firewalld: rate-limited log+drop as the last rule of zone and egress policy", () => {
    for (const [xml, prefix] of [[zone, "apiproxy-in-drop"], [policy, "apiproxy-out-drop"]] as const) {
        assert.match(xml, new RegExp(`<rule priority="32767"><log prefix="${prefix}: " level="warning"><limit value="\\d+/m"/></log><drop/></rule>`));
    }
});

test("firewalld: egress policy HOST -> ANY, target DROP, allow-list only", () => {
    assert.match(policy, /<policy target="DROP" priority="-1">/);
    assert.match(policy, /<ingress-zone name="HOST"\/>/);
    assert.match(policy, /<egress-zone name="ANY"\/>/);
    assert.match(policy, /<destination address="10.0.2.10\/32"\/><port port="8080" protocol="tcp"\/><accept\/>/);
    assert.match(policy, /<rule family="ipv6"><destination address="fd00:2::10\/128"\/><port port="9090" protocol="tcp"\/>/);
    assert.match(policy, /<destination address="10.0.0.2"\/><port port="53" protocol="udp"\/>/);
    const accepts = policy.split("\n").filter((line) => line.includes("<accept/>"));
    for (const line of accepts) {
        assert.match(line, /<destination address=|<icmp-type name="(neighbour|router)-/, line);
    }
});

test("firewalld: IMDS only for root via direct rule (AWS hosts only)", () => {
    assert.match(direct, /-d 169\.254\.169\.254\/32 -p tcp --dport 80 -m owner ! --uid-owner 0 -j DROP/);
    const { aws: _aws, ...onPrem } = rhelHost;
    assert.ok(!renderFirewalld(onPrem).some((f) => f.path === FIREWALLD_DIRECT_PATH));
});

test("firewalld: every rule carries a control comment", () => {
    for (const xml of [zone, policy, direct]) {
        const linesOf = xml.split("\n");
        linesOf.forEach((line, index) => {
            if (/^\s*<rule[ >]/.test(line) && !/icmp-type name="(neighbour-advertisement|router-solicitation)"/.test(line)) {
                assert.match(linesOf[index - 1] ?? "", /<!-- .*(NIST|seed:|RFC|CIS)/, line);
            }
        });
    }
});

test("firewalld: firewall-offline-cmd validates the zone", { skip: !have("firewall-offline-cmd") && "firewall-offline-cmd not installed (Debian package: firewalld)" }, () => {
    withTempDir((dir) => {
        const path = writeIn(dir, "apiproxy.xml", zone);
        const result = run("firewall-offline-cmd", ["--new-zone-from-file", path, "--name", "apiproxytest", "--system-config", dir, "--default-config", "/usr/lib/firewalld"]);
        assert.equal(result.status, 0, result.stderr);
    });
});
