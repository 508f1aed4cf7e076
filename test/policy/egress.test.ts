/**
 * Egress policies (policies/egress.ts): security-group egress of the groups tier instances run
 * in, and network ACL rules. The compliant fixture passes; each broken rule fails alone.
 */
import { describe, it } from "node:test";
import { naclLeastPrivilege, sgEgressLeastPrivilege } from "../../policy-packs/api-proxy-baseline/policies/egress";
import { T, editStack, validAsgStack, validStack, type StackFixtureEntry } from "./fixtures";
import { UNKNOWN, assertCompliant, assertViolation, runResource, runStack } from "./util";

const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule";
const withEgress = (props: Record<string, unknown>, stack: StackFixtureEntry[] = validStack()): StackFixtureEntry[] =>
    [...stack, { type: EGRESS, name: "proxy-out", props: { id: "sgr-out", securityGroupId: "sg-proxy", ...props } }];
const validNacl = { ruleAction: "allow", protocol: "tcp", ruleNumber: 100, egress: false, cidrBlock: "0.0.0.0/0", fromPort: 443, toPort: 443, networkAclId: "acl-1" };

describe("sg-egress-least-privilege", () => {
    const NAME = "sg-egress-least-privilege";
    it("accepts egress to named destinations by protocol and port", async () => {
        assertCompliant(await runStack(sgEgressLeastPrivilege, withEgress({ ipProtocol: "tcp", fromPort: 8080, toPort: 8080, referencedSecurityGroupId: "sg-upstream" })));
        assertCompliant(await runStack(sgEgressLeastPrivilege, withEgress({ ipProtocol: "udp", fromPort: 53, toPort: 53, cidrIpv4: "10.0.0.2/32" })));
    });
    it("rejects egress to anywhere or for all protocols from a tier instance's group", async () => {
        assertViolation(await runStack(sgEgressLeastPrivilege, withEgress({ ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" })), NAME, /Egress rule proxy-out of proxy-sg sends to 0\.0\.0\.0\/0/);
        assertViolation(await runStack(sgEgressLeastPrivilege, withEgress({ ipProtocol: "-1", cidrIpv4: "10.0.0.0/16" })), NAME, /allows all protocols/);
        const inline = editStack("proxy-sg", (e) => ({ ...e, props: { ...e.props, egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }] } }));
        const hit = await runStack(sgEgressLeastPrivilege, inline);
        assertViolation(hit, NAME, /proxy-sg egress\[0\] allows all protocols/);
        assertViolation(hit, NAME, /proxy-sg egress\[0\] sends to 0\.0\.0\.0\/0/);
    });
    it("judges the groups a proxy launch template's network interfaces name (by id, or by dependency during preview)", async () => {
        const open = { ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" };
        assertViolation(await runStack(sgEgressLeastPrivilege, withEgress(open, validAsgStack())), NAME, /Egress rule proxy-out of proxy-sg sends to 0\.0\.0\.0\/0/);
        const preview = editStack("proxy-lt", (e) => ({
            ...e, props: { ...e.props, networkInterfaces: [{ deviceIndex: 0, securityGroups: [UNKNOWN] }] }, propertyDependencies: { networkInterfaces: ["proxy-sg"] },
        }), validAsgStack());
        assertViolation(await runStack(sgEgressLeastPrivilege, withEgress(open, preview)), NAME, /proxy-out of proxy-sg sends to 0\.0\.0\.0\/0/);
        const elsewhere = editStack("proxy-lt", (e) => ({ ...e, props: { ...e.props, networkInterfaces: [{ deviceIndex: 0, securityGroups: ["sg-other"] }] } }), validAsgStack());
        assertCompliant(await runStack(sgEgressLeastPrivilege, withEgress(open, elsewhere)));
    });
    it("does not judge groups no tier instance runs in (an image build's group may reach package mirrors)", async () => {
        const stack = [...validStack(), { type: T.securityGroup, name: "image-build", props: { id: "sg-build", vpcId: "vpc-1", tags: { "apiproxy:role": "proxy" } } }];
        assertCompliant(await runStack(sgEgressLeastPrivilege, [...stack, { type: EGRESS, name: "build-out", props: { id: "sgr-b", securityGroupId: "sg-build", ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" } }]));
    });
});

describe("nacl-least-privilege", () => {
    const NAME = "nacl-least-privilege";
    it("accepts named protocols and ports; deny rules are not judged", async () => {
        assertCompliant(await runResource(naclLeastPrivilege, NACL_RULE, validNacl));
        assertCompliant(await runResource(naclLeastPrivilege, NACL_RULE, { ...validNacl, fromPort: 1024, toPort: 65535 }));
        assertCompliant(await runResource(naclLeastPrivilege, NACL_RULE, { ...validNacl, ruleAction: "deny", protocol: "-1" }));
    });
    it("rejects all protocols, and SSH from anywhere", async () => {
        assertViolation(await runResource(naclLeastPrivilege, NACL_RULE, { ...validNacl, protocol: "-1" }), NAME, /allows protocol all/);
        assertViolation(await runResource(naclLeastPrivilege, NACL_RULE, { ...validNacl, fromPort: 0, toPort: 1023 }), NAME, /includes SSH \(22\)/);
    });
});
