import { test } from "node:test";
import assert from "node:assert/strict";
import { isOpenCidr, parseIpv4Cidr, subnetCidr, vpcResolverCidr } from "../../../components/network/cidr";
import { dmzNaclRules, overQuota, privateNaclRules } from "../../../components/network/nacl-rules";
import { DEFAULT_PROXY_PORTS } from "../../../components/network/ports";

test("cidr: parse, carve and resolver address", () => {
    assert.deepEqual(parseIpv4Cidr("10.40.0.0/16"), { base: 0x0a280000, prefix: 16 });
    assert.equal(parseIpv4Cidr("10.40.0.1/16"), undefined, "host bits set");
    assert.equal(parseIpv4Cidr("10.40.0.0/33"), undefined);
    assert.equal(parseIpv4Cidr("10.400.0.0/16"), undefined);
    assert.equal(subnetCidr("10.40.0.0/16", 4, 6), "10.40.96.0/20");
    assert.equal(subnetCidr("10.40.0.0/16", 4, 8), "10.40.128.0/20");
    assert.throws(() => subnetCidr("10.40.0.0/16", 4, 16));
    assert.equal(vpcResolverCidr("10.40.0.0/16"), "10.40.0.2/32");
    assert.ok(isOpenCidr("0.0.0.0/0") && isOpenCidr("::/0") && !isOpenCidr("10.0.0.0/8"));
});

const dmzInput = {
    vpcCidr: "10.40.0.0/16",
    trafficCidrs: ["0.0.0.0/0"],
    managementCidrs: ["10.255.10.0/24"],
    privateCidrs: ["10.40.96.0/20", "10.40.112.0/20"],
    ports: DEFAULT_PROXY_PORTS,
    upstreamPorts: [8080],
};

test("nacl: DMZ inbound admits listeners from VPC + clients, SSH only from management, ephemeral returns", () => {
    const rules = dmzNaclRules(dmzInput);
    const inbound = rules.filter((r) => !r.egress);
    const has = (cidr: string, port: number) => inbound.some((r) => r.cidr === cidr && r.protocol === "tcp" && r.fromPort === port && r.toPort === port);
    for (const port of [443, 8443, 8081]) {
        assert.ok(has("10.40.0.0/16", port), `VPC -> ${port}`);
    }
    assert.ok(has("0.0.0.0/0", 443) && has("0.0.0.0/0", 8443));
    assert.ok(!has("0.0.0.0/0", 8081), "health port is not open to clients");
    assert.deepEqual(inbound.filter((r) => r.fromPort <= 22 && r.toPort >= 22).map((r) => r.cidr), ["10.255.10.0/24"]);
    assert.ok(inbound.some((r) => r.fromPort === 1024 && r.toPort === 65535));
    const outbound = rules.filter((r) => r.egress);
    assert.ok(outbound.some((r) => r.cidr === "0.0.0.0/0" && r.fromPort === 80 && r.toPort === 80), "image builds reach apt mirrors through NAT");
    assert.ok(outbound.some((r) => r.cidr === "10.40.96.0/20" && r.fromPort === 8080), "proxies reach upstreams");
    const numbers = rules.map((r) => `${r.egress}${r.ruleNumber}`);
    assert.equal(new Set(numbers).size, numbers.length, "rule numbers unique per direction");
});

test("nacl: private subnets admit only the DMZ", () => {
    const rules = privateNaclRules({ dmzCidrs: ["10.40.48.0/20", "10.40.64.0/20"], upstreamPorts: [8080, 6379] });
    const inbound = rules.filter((r) => !r.egress);
    assert.ok(inbound.every((r) => ["10.40.48.0/20", "10.40.64.0/20"].includes(r.cidr)));
    assert.ok(inbound.some((r) => r.fromPort === 6379));
    assert.ok(rules.filter((r) => r.egress).every((r) => ["10.40.48.0/20", "10.40.64.0/20"].includes(r.cidr)));
});

test("nacl: the quota check counts per direction", () => {
    const many = dmzNaclRules({ ...dmzInput, trafficCidrs: Array.from({ length: 10 }, (_, i) => `192.0.${i}.0/24`) });
    assert.deepEqual(overQuota(many)?.direction, "inbound");
    assert.equal(overQuota(dmzNaclRules(dmzInput)), undefined);
});
