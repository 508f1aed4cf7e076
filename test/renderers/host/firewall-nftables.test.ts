import { test } from "node:test";
import assert from "node:assert/strict";
import { NFTABLES_PATH, renderNftables } from "../../../components/host/firewall-nftables";
import { renderHost } from "../../../components/host/index";
import { debianHost, ubuntuHost } from "./fixtures";
import { findFile, have, run, uncitedDirectives, withTempDir, writeIn } from "./tools";

const content = (spec = ubuntuHost) => findFile(renderNftables(spec), NFTABLES_PATH).content;

function chain(text: string, name: string): string {
    const match = new RegExp(`chain ${name} \\{([\\s\\S]*?)\\n    \\}`).exec(text);
    assert.ok(match, `chain ${name} not found`);
    return match[1]!;
}

function setElements(text: string, name: string): string[] {
    const match = new RegExp(`set ${name} \\{[^}]*?(?:elements = \\{ ([^}]*) \\})? \\}`).exec(text);
    assert.ok(match, `set ${name} not found`);
    return match[1] ? match[1].split(", ") : [];
}

test("nftables: `nft -c -f` accepts the rendered ruleset (check mode, live ruleset untouched)", { skip: !have("nft") && "nft not installed" }, () => {
    for (const spec of [ubuntuHost, debianHost]) {
        withTempDir((dir) => {
            const path = writeIn(dir, "nftables.conf", content(spec));
            const result = run("nft", ["-c", "-f", path]);
            assert.equal(result.status, 0, result.stderr);
        });
    }
});

test("nftables: `nft -c` is a real check (a broken rule is rejected)", { skip: !have("nft") && "nft not installed" }, () => {
    withTempDir((dir) => {
        const path = writeIn(dir, "bad.conf", content().replace("policy drop;", "policy dorp;"));
        assert.notEqual(run("nft", ["-c", "-f", path]).status, 0);
    });
});

test("nftables: input, forward and output default to drop", () => {
    const text = content();
    for (const name of ["input", "forward", "output"]) {
        assert.match(chain(text, name), new RegExp(`type filter hook ${name} priority filter; policy drop;`));
    }
});

test("nftables: only table inet apiproxy is replaced (no flush ruleset)", () => {
    const text = content();
    assert.doesNotMatch(text, /flush ruleset/);
    assert.match(text, /^table inet apiproxy\ndelete table inet apiproxy\n/m);
});

test("nftables: SSH only from management CIDRs, health only from LB CIDRs, 443/8443 from traffic CIDRs", () => {
    const text = content();
    const input = chain(text, "input");
    assert.deepEqual(setElements(text, "management_v4"), ["10.0.100.0/24"]);
    assert.deepEqual(setElements(text, "management_v6"), ["fd00:100::/64"]);
    assert.deepEqual(setElements(text, "health_v4"), ["10.0.1.0/24"]);
    assert.deepEqual(setElements(text, "traffic_v4"), ["0.0.0.0/0"]);
    const sshRules = input.split("\n").filter((line) => /tcp dport 22\b/.test(line));
    assert.equal(sshRules.length, 2);
    for (const line of sshRules) {
        assert.match(line, /saddr @management_v[46] tcp dport 22 ct state new accept/);
    }
    assert.match(input, /ip saddr @traffic_v4 tcp dport \{ 443, 8443 \} ct state new accept/);
    assert.match(input, /ip saddr @health_v4 tcp dport 8081 ct state new accept/);
    // No accept without a source restriction other than the stateful / loopback / ICMP ones.
    for (const line of input.split("\n").map((l) => l.trim()).filter((l) => l.endsWith("accept"))) {
        assert.match(line, /saddr @|ct state established|iif "lo"|icmp/, line);
    }
});

test("nftables: established/related and loopback allowed; invalid dropped; ICMP echo rate limited", () => {
    const input = chain(content(), "input");
    assert.match(input, /ct state established,related accept/);
    assert.match(input, /iif "lo" accept/);
    assert.match(input, /ct state invalid counter name "invalid_dropped" drop/);
    assert.match(input, /icmp type echo-request limit rate \d+\/second burst \d+ packets accept/);
    assert.match(input, /icmpv6 type echo-request limit rate/);
    assert.match(input, /nd-neighbor-solicit.*ip6 hoplimit 255 accept/);
});

test("nftables: egress allow-list - upstreams, extra egress, DNS, IMDS root-only", () => {
    const output = chain(content(), "output");
    assert.match(output, /ct state established,related accept/);
    assert.match(output, /ip daddr 10\.0\.2\.10\/32 tcp dport 8080 ct state new accept/);
    assert.match(output, /ip6 daddr fd00:2::10\/128 tcp dport 9090 ct state new accept/);
    assert.match(output, /ip daddr 10\.0\.3\.5\/32 tcp dport 6379 ct state new accept/);
    assert.match(output, /ip daddr 10\.0\.0\.2 udp dport 53 ct state new accept/);
    assert.match(output, /ip daddr 169\.254\.169\.253 udp dport 53/);
    assert.match(output, /meta skuid 0 ip daddr 169\.254\.169\.254 tcp dport 80 ct state new accept/);
    const imds = output.split("\n").filter((line) => line.includes("169.254.169.254"));
    assert.ok(imds.every((line) => line.includes("meta skuid 0")), "IMDS must be root-only");
    // Non-AWS hosts get no IMDS rule.
    assert.doesNotMatch(chain(content(debianHost), "output"), /169\.254\.169\.254/);
});

test("nftables: named counters and rate-limited log prefix on every drop path", () => {
    const text = content();
    for (const name of ["input_dropped", "output_dropped", "forward_dropped", "invalid_dropped"]) {
        assert.match(text, new RegExp(`counter ${name} \\{`));
    }
    for (const [chainName, counter, prefix] of [["input", "input_dropped", "apiproxy-in-drop"], ["output", "output_dropped", "apiproxy-out-drop"], ["forward", "forward_dropped", "apiproxy-fwd-drop"]] as const) {
        assert.match(chain(text, chainName), new RegExp(`counter name "${counter}" limit rate \\d+/minute burst \\d+ packets log prefix "${prefix}: "`));
    }
});

test("nftables: every rule and set is preceded by a control citation", () => {
    const text = content();
    const isRule = (line: string) => !/^(table|delete table|counter \w+ \{|chain \w+ \{|\}|#!)/.test(line);
    assert.deepEqual(uncitedDirectives(text, isRule), []);
});

test("nftables: SSH open to the world is refused", () => {
    assert.throws(() => renderHost({ ...debianHost, managementCidrs: ["0.0.0.0/0"] }), /managementCidrs\[0\]/);
    assert.throws(() => renderHost({ ...debianHost, managementCidrs: ["::/0"] }), /managementCidrs\[0\]/);
    assert.throws(() => renderHost({ ...debianHost, trafficCidrs: ["10.0.0.0/8; accept"] }), /trafficCidrs\[0\]/);
});
