import { describe, it } from "node:test";
import {
    noPublicIpOnTierInstances, sgNoPublicIngressExceptTls, sgSshOnlyFromManagement, tierInstancesInPrivateSubnets, vpcFlowLogs,
} from "../../policy-packs/api-proxy-baseline/policies/network";
import { T, editStack, validIngressRule, validInstance, validLaunchTemplate, validLegacyRule, validSecurityGroup, validStack, validAsgStack } from "./fixtures";
import { UNKNOWN, assertCompliant, assertNotApplicable, assertViolation, broken, runResource, runStack } from "./util";

type Rules = { ingress: Record<string, unknown>[] };

describe("sg-no-public-ingress-except-tls", () => {
    const policy = sgNoPublicIngressExceptTls;
    const NAME = "sg-no-public-ingress-except-tls";

    it("accepts 443/8443 from anywhere, inline and standalone", async () => {
        assertCompliant(await runResource(policy, T.securityGroup, validSecurityGroup()));
        assertCompliant(await runResource(policy, T.ingressRule, validIngressRule()));
        assertCompliant(await runResource(policy, T.legacyRule, validLegacyRule()));
    });

    it("rejects an inline rule opening another port to 0.0.0.0/0", async () => {
        const sg = broken(validSecurityGroup() as Rules, (p) => {
            p.ingress[3].cidrBlocks = ["0.0.0.0/0"];
        });
        assertViolation(await runResource(policy, T.securityGroup, sg), NAME, /ingress\[3\] opens tcp\/8081 to 0\.0\.0\.0\/0/);
    });

    it("rejects ::/0 on a port range that merely contains 443", async () => {
        const sg = broken(validSecurityGroup() as Rules, (p) => {
            p.ingress[0] = { protocol: "tcp", fromPort: 400, toPort: 500, ipv6CidrBlocks: ["::/0"] };
        });
        assertViolation(await runResource(policy, T.securityGroup, sg), NAME, /opens tcp\/400-500 to ::\/0/);
    });

    it("rejects all-protocol ingress from anywhere on a standalone rule", async () => {
        const rule = { ...validIngressRule(), ipProtocol: "-1", fromPort: undefined, toPort: undefined };
        assertViolation(await runResource(policy, T.ingressRule, rule), NAME, /opens all protocols and ports to 0\.0\.0\.0\/0/);
    });

    it("rejects a legacy ingress rule opening 22 to the world, ignores legacy egress", async () => {
        const rule = { ...validLegacyRule(), cidrBlocks: ["0.0.0.0/0"] };
        assertViolation(await runResource(policy, T.legacyRule, rule), NAME, /opens tcp\/22 to 0\.0\.0\.0\/0/);
        assertCompliant(await runResource(policy, T.legacyRule, { ...rule, type: "egress" }));
    });

    it("honours a configured port list", async () => {
        const outcome = await runResource(policy, T.ingressRule, validIngressRule(), { publicIngressPorts: [8443] });
        assertViolation(outcome, NAME, /only tcp ports 8443 may be open/);
    });

    it("only applies to security group types", async () => {
        assertNotApplicable(await runResource(policy, T.instance, validInstance()));
    });

    it("tolerates unknown and missing values", async () => {
        assertCompliant(await runResource(policy, T.ingressRule, { ...validIngressRule(), cidrIpv4: UNKNOWN }));
        assertCompliant(await runResource(policy, T.securityGroup, { ingress: UNKNOWN }));
        assertCompliant(await runResource(policy, T.securityGroup, {}));
    });
});

describe("sg-ssh-only-from-management", () => {
    const policy = sgSshOnlyFromManagement;
    const NAME = "sg-ssh-only-from-management";
    const config = { managementCidrs: ["10.20.0.0/16", "2001:db8::/32"] };

    it("accepts SSH from a subnet inside a management CIDR", async () => {
        assertCompliant(await runResource(policy, T.securityGroup, validSecurityGroup(), config));
        assertCompliant(await runResource(policy, T.legacyRule, validLegacyRule(), config));
        assertCompliant(await runResource(policy, T.ingressRule, { ...validIngressRule(), fromPort: 22, toPort: 22, cidrIpv4: undefined, cidrIpv6: "2001:db8:1::/48" }, config));
    });

    it("rejects a CIDR that only shares a string prefix with a management CIDR", async () => {
        const rule = { ...validLegacyRule(), cidrBlocks: ["10.200.0.0/24"] };
        assertViolation(await runResource(policy, T.legacyRule, rule, config), NAME, /10\.200\.0\.0\/24 is not inside the management CIDRs 10\.20\.0\.0\/16/);
    });

    it("rejects a CIDR broader than the management network", async () => {
        const rule = { ...validLegacyRule(), cidrBlocks: ["10.0.0.0/8"] };
        assertViolation(await runResource(policy, T.legacyRule, rule, config), NAME, /10\.0\.0\.0\/8 is not inside/);
    });

    it("rejects a port range or all-protocol rule that covers 22", async () => {
        const sg = broken(validSecurityGroup() as Rules, (p) => {
            p.ingress[3] = { protocol: "tcp", fromPort: 0, toPort: 1024, cidrBlocks: ["192.0.2.0/24"] };
        });
        assertViolation(await runResource(policy, T.securityGroup, sg, config), NAME, /192\.0\.2\.0\/24 reach SSH \(tcp\/0-1024\)/);
        const all = { ...validIngressRule(), ipProtocol: "-1", cidrIpv4: "192.0.2.0/24" };
        assertViolation(await runResource(policy, T.ingressRule, all, config), NAME, /reach SSH \(all protocols and ports\)/);
    });

    it("rejects SSH from a security group reference", async () => {
        const rule = { ...validIngressRule(), fromPort: 22, toPort: 22, cidrIpv4: undefined, referencedSecurityGroupId: "sg-bastion" };
        assertViolation(await runResource(policy, T.ingressRule, rule, config), NAME, /security group sg-bastion reach SSH/);
    });

    it("uses RFC 1918 management CIDRs by default", async () => {
        assertCompliant(await runResource(policy, T.legacyRule, validLegacyRule()));
        assertViolation(await runResource(policy, T.legacyRule, { ...validLegacyRule(), cidrBlocks: ["203.0.113.0/24"] }), NAME, /203\.0\.113\.0\/24/);
    });

    it("only applies to security group types", async () => {
        assertNotApplicable(await runResource(policy, T.loadBalancer, {}));
    });
});

describe("no-public-ip-on-tier-instances", () => {
    const policy = noPublicIpOnTierInstances;
    const NAME = "no-public-ip-on-tier-instances";

    it("accepts private proxy instances and templates", async () => {
        assertCompliant(await runResource(policy, T.instance, validInstance()));
        assertCompliant(await runResource(policy, T.launchTemplate, validLaunchTemplate()));
    });

    it("rejects associatePublicIpAddress on a proxy or upstream instance", async () => {
        assertViolation(await runResource(policy, T.instance, { ...validInstance(), associatePublicIpAddress: true }), NAME, /proxy instance must not have associatePublicIpAddress = true/);
        const upstream = { ...validInstance(), associatePublicIpAddress: true, tags: { "apiproxy:role": "upstream", "apiproxy:environment": "dev" } };
        assertViolation(await runResource(policy, T.instance, upstream), NAME, /upstream instance/);
    });

    it("rejects a launch template interface with a public IP", async () => {
        const lt = broken(validLaunchTemplate() as { networkInterfaces: Record<string, unknown>[] }, (p) => {
            p.networkInterfaces[0].associatePublicIpAddress = "true";
        });
        assertViolation(await runResource(policy, T.launchTemplate, lt), NAME, /networkInterfaces\[0\] sets associatePublicIpAddress = true/);
    });

    it("ignores other roles and unknown values", async () => {
        const bastion = { ...validInstance(), associatePublicIpAddress: true, tags: { "apiproxy:role": "network", "apiproxy:environment": "dev" } };
        assertCompliant(await runResource(policy, T.instance, bastion));
        assertCompliant(await runResource(policy, T.instance, { ...validInstance(), associatePublicIpAddress: UNKNOWN }));
    });

    it("only applies to instances and launch templates", async () => {
        assertNotApplicable(await runResource(policy, T.subnet, { mapPublicIpOnLaunch: true }));
    });
});

describe("tier-instances-in-private-subnets", () => {
    const policy = tierInstancesInPrivateSubnets;
    const NAME = "tier-instances-in-private-subnets";

    it("accepts proxies in private subnets", async () => {
        assertCompliant(await runStack(policy, validStack()));
    });

    it("rejects a proxy placed in a subnet that maps public IPs (matched by id)", async () => {
        const stack = editStack("proxy-a", (e) => ({ ...e, props: { ...e.props, subnetId: "id-public-a" } }));
        assertViolation(await runStack(policy, stack), NAME, /proxy instance proxy-a is in subnet public-a, which has mapPublicIpOnLaunch = true/);
    });

    it("finds the subnet through property dependencies when the id is unknown (preview)", async () => {
        const stack = editStack("proxy-b", (e) => ({ ...e, props: { ...e.props, subnetId: UNKNOWN }, propertyDependencies: { subnetId: ["public-a"] } }));
        assertViolation(await runStack(policy, stack), NAME, /proxy-b is in subnet public-a/);
    });

    it("accepts a proxy Auto Scaling group launching into private subnets, rejects one launching into a public subnet", async () => {
        assertCompliant(await runStack(policy, validAsgStack()));
        const stack = editStack("proxy-asg", (e) => ({ ...e, props: { ...e.props, vpcZoneIdentifiers: ["id-private-a", "id-public-a"] } }), validAsgStack());
        assertViolation(await runStack(policy, stack), NAME, /The proxy Auto Scaling group proxy-asg launches into subnet public-a, which has mapPublicIpOnLaunch = true/);
    });
});

describe("vpc-flow-logs", () => {
    const policy = vpcFlowLogs;
    const NAME = "vpc-flow-logs";

    it("accepts a VPC with a flow log", async () => {
        assertCompliant(await runStack(policy, validStack()));
    });

    it("rejects a VPC without a flow log", async () => {
        const stack = editStack("vpc-flow-log", () => undefined);
        assertViolation(await runStack(policy, stack), NAME, /VPC vpc has no flow log/);
    });

    it("rejects a flow log attached to another VPC", async () => {
        const stack = editStack("vpc-flow-log", (e) => ({ ...e, props: { ...e.props, vpcId: "vpc-other" } }));
        assertViolation(await runStack(policy, stack), NAME, /VPC vpc has no flow log/);
    });

    it("links through property dependencies when ids are unknown (preview)", async () => {
        let stack = editStack("vpc-flow-log", (e) => ({ ...e, props: { ...e.props, vpcId: UNKNOWN }, propertyDependencies: { vpcId: ["vpc"] } }));
        stack = editStack("vpc", (e) => ({ ...e, props: { ...e.props, id: UNKNOWN } }), stack);
        assertCompliant(await runStack(policy, stack));
    });
});

describe("sg-ssh-only-from-management: the stack's management networks, inside private IPv4 space", () => {
    it("refuses a public IPv4 network even when the stack names it its management network", async () => {
        const rule = { ...validIngressRule(), fromPort: 22, toPort: 22, cidrIpv4: "203.0.113.0/24" };
        assertViolation(await runResource(sgSshOnlyFromManagement, T.ingressRule, rule, { managementCidrs: ["203.0.113.0/24"] }),
            "sg-ssh-only-from-management", /203\.0\.113\.0\/24 is public address space/);
        assertCompliant(await runResource(sgSshOnlyFromManagement, T.ingressRule, { ...rule, cidrIpv4: "10.20.1.0/24" }, { managementCidrs: ["10.20.0.0/16"] }));
    });
});
