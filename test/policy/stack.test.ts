import { describe, it } from "node:test";
import { pkiPresentWithRotation, proxyBehindNlb, proxyPairsSpanAzs, upstreamOnlyViaProxySg } from "../../policy-packs/api-proxy-baseline/policies/stack";
import { T, editStack, validAsgStack, validStack } from "./fixtures";
import { UNKNOWN, assertCompliant, assertViolation, runStack } from "./util";

describe("proxy-behind-nlb", () => {
    const NAME = "proxy-behind-nlb";
    it("accepts every proxy attached to every listener's target group", async () => {
        assertCompliant(await runStack(proxyBehindNlb, validStack()));
    });
    it("rejects a proxy missing from one listener's target group", async () => {
        const stack = editStack("tg-mtls-proxy-b", () => undefined);
        assertViolation(await runStack(proxyBehindNlb, stack), NAME, /Proxy instance proxy-b is not attached to target group tg-mtls of listener mtls/);
    });
    it("rejects an attachment that points at another instance", async () => {
        const stack = editStack("tg-https-proxy-a", (e) => ({ ...e, props: { ...e.props, targetId: "i-elsewhere" } }));
        assertViolation(await runStack(proxyBehindNlb, stack), NAME, /proxy-a is not attached to target group tg-https/);
    });
    it("rejects proxies with no listener at all, and a listener forwarding nowhere", async () => {
        const none = validStack().filter((e) => e.type !== T.listener);
        assertViolation(await runStack(proxyBehindNlb, none), NAME, /2 proxy instance\(s\) but no load balancer listener/);
        const nowhere = editStack("mtls", (e) => ({ ...e, props: { ...e.props, defaultActions: [{ type: "forward", targetGroupArn: "arn:gone" }] } }));
        assertViolation(await runStack(proxyBehindNlb, nowhere), NAME, /Listener mtls forwards to no target group/);
    });
    it("links through property dependencies when ARNs and ids are unknown (preview)", async () => {
        let stack = editStack("tg-https-proxy-a", (e) => ({
            ...e, props: { ...e.props, targetGroupArn: UNKNOWN, targetId: UNKNOWN }, propertyDependencies: { targetGroupArn: ["tg-https"], targetId: ["proxy-a"] },
        }));
        stack = editStack("https", (e) => ({ ...e, props: { ...e.props, defaultActions: [{ type: "forward", targetGroupArn: UNKNOWN }] }, propertyDependencies: { defaultActions: ["tg-https"] } }), stack);
        assertCompliant(await runStack(proxyBehindNlb, stack));
    });
    it("does not apply to stacks without proxy instances", async () => {
        assertCompliant(await runStack(proxyBehindNlb, validStack().filter((e) => e.type !== T.instance && e.type !== T.listener)));
    });
    it("accepts a proxy Auto Scaling group registered with every listener's target group (targetGroupArns)", async () => {
        assertCompliant(await runStack(proxyBehindNlb, validAsgStack()));
    });
    it("rejects a proxy Auto Scaling group missing one listener's target group", async () => {
        const stack = editStack("proxy-asg", (e) => ({ ...e, props: { ...e.props, targetGroupArns: ["arn:tg-https"] } }), validAsgStack());
        assertViolation(await runStack(proxyBehindNlb, stack), NAME, /Proxy Auto Scaling group proxy-asg does not register its instances with target group tg-mtls of listener mtls/);
    });
    it("judges a group by its launch template's role when the group has no role tag, and accepts autoscaling Attachments", async () => {
        const untagged = editStack("proxy-asg", (e) => ({ ...e, props: { ...e.props, tags: [], targetGroupArns: [] } }), validAsgStack());
        assertViolation(await runStack(proxyBehindNlb, untagged), NAME, /proxy-asg does not register its instances with target group tg-https/);
        const attached = [...untagged, ...["tg-https", "tg-mtls"].map((tg) => ({
            type: T.autoScalingAttachment, name: `asg-${tg}`, props: { id: `att-${tg}`, autoscalingGroupName: "proxy-asg-1a2b", lbTargetGroupArn: `arn:${tg}` },
        }))];
        assertCompliant(await runStack(proxyBehindNlb, attached));
    });
    it("names the groups when there is no listener; gives no verdict while targetGroupArns is unknown", async () => {
        assertViolation(await runStack(proxyBehindNlb, validAsgStack().filter((e) => e.type !== T.listener)), NAME, /1 proxy Auto Scaling group\(s\) but no load balancer listener/);
        const stack = editStack("proxy-asg", (e) => ({ ...e, props: { ...e.props, targetGroupArns: UNKNOWN } }), validAsgStack());
        assertCompliant(await runStack(proxyBehindNlb, stack));
    });
});

describe("proxy-pairs-span-azs", () => {
    const NAME = "proxy-pairs-span-azs";
    it("accepts proxies in two AZs", async () => {
        assertCompliant(await runStack(proxyPairsSpanAzs, validStack()));
    });
    it("rejects both proxies in one AZ", async () => {
        const stack = editStack("proxy-b", (e) => ({ ...e, props: { ...e.props, availabilityZone: "eu-west-1a" } }));
        assertViolation(await runStack(proxyPairsSpanAzs, stack), NAME, /2 proxy instance\(s\) span 1 availability zone\(s\) \(eu-west-1a\); at least 2/);
    });
    it("falls back to the subnet's AZ", async () => {
        const sameSubnet = editStack("proxy-b", (e) => ({ ...e, props: { ...e.props, availabilityZone: undefined, subnetId: "id-private-a" } }));
        assertViolation(await runStack(proxyPairsSpanAzs, sameSubnet), NAME, /span 1 availability zone/);
        const otherSubnet = editStack("proxy-b", (e) => ({ ...e, props: { ...e.props, availabilityZone: undefined } }));
        assertCompliant(await runStack(proxyPairsSpanAzs, otherSubnet));
    });
    it("rejects a single proxy", async () => {
        const stack = editStack("proxy-b", () => undefined);
        assertViolation(await runStack(proxyPairsSpanAzs, stack), NAME, /1 proxy instance\(s\) span 1 availability zone/);
    });
    it("gives no verdict while an AZ is unknown", async () => {
        const stack = editStack("proxy-b", (e) => ({ ...e, props: { ...e.props, availabilityZone: UNKNOWN, subnetId: UNKNOWN } }));
        assertCompliant(await runStack(proxyPairsSpanAzs, stack));
    });
    it("accepts a proxy Auto Scaling group launching into two AZs' subnets", async () => {
        assertCompliant(await runStack(proxyPairsSpanAzs, validAsgStack()));
    });
    it("rejects a proxy Auto Scaling group whose subnets are all in one AZ", async () => {
        const stack = editStack("proxy-asg", (e) => ({ ...e, props: { ...e.props, vpcZoneIdentifiers: ["id-private-a"] } }), validAsgStack());
        assertViolation(await runStack(proxyPairsSpanAzs, stack), NAME, /Proxy Auto Scaling group proxy-asg launches into 1 availability zone\(s\) \(eu-west-1a\); a pair needs at least 2/);
    });
    it("rejects a proxy Auto Scaling group that keeps fewer instances than AZs", async () => {
        const stack = editStack("proxy-asg", (e) => ({ ...e, props: { ...e.props, minSize: 1 } }), validAsgStack());
        assertViolation(await runStack(proxyPairsSpanAzs, stack), NAME, /proxy-asg keeps minSize 1: fewer instances than the 2 availability zones/);
    });
    it("gives no verdict on a group whose subnets are unknown or not in the stack", async () => {
        const unknown = editStack("proxy-asg", (e) => ({ ...e, props: { ...e.props, vpcZoneIdentifiers: UNKNOWN } }), validAsgStack());
        assertCompliant(await runStack(proxyPairsSpanAzs, unknown));
        const foreign = editStack("proxy-asg", (e) => ({ ...e, props: { ...e.props, vpcZoneIdentifiers: ["id-private-a", "subnet-elsewhere"] } }), validAsgStack());
        assertCompliant(await runStack(proxyPairsSpanAzs, foreign));
        const oneUnknown = editStack("proxy-asg", (e) => ({ ...e, props: { ...e.props, vpcZoneIdentifiers: ["id-private-a", UNKNOWN] } }), validAsgStack());
        assertCompliant(await runStack(proxyPairsSpanAzs, oneUnknown));
    });
});

describe("upstream-only-via-proxy-sg", () => {
    const NAME = "upstream-only-via-proxy-sg";
    it("accepts upstream ingress only from the proxy security group", async () => {
        assertCompliant(await runStack(upstreamOnlyViaProxySg, validStack()));
    });
    it("rejects an inline CIDR or a foreign security group on the upstream group", async () => {
        const cidr = editStack("upstream-sg", (e) => ({ ...e, props: { ...e.props, ingress: [{ protocol: "tcp", fromPort: 8080, toPort: 8080, cidrBlocks: ["10.0.0.0/16"] }] } }));
        assertViolation(await runStack(upstreamOnlyViaProxySg, cidr), NAME, /Upstream security group upstream-sg ingress\[0\] admits 10\.0\.0\.0\/16/);
        const foreign = editStack("upstream-sg", (e) => ({ ...e, props: { ...e.props, ingress: [{ protocol: "tcp", fromPort: 8080, toPort: 8080, securityGroups: ["sg-proxy", "sg-bastion"] }] } }));
        assertViolation(await runStack(upstreamOnlyViaProxySg, foreign), NAME, /admits security group sg-bastion/);
    });
    it("rejects a standalone rule admitting a CIDR into the upstream group", async () => {
        const stack = editStack("upstream-from-proxy-grpc", (e) => ({ ...e, props: { ...e.props, referencedSecurityGroupId: undefined, cidrIpv4: "0.0.0.0/0" } }));
        assertViolation(await runStack(upstreamOnlyViaProxySg, stack), NAME, /Rule upstream-from-proxy-grpc admits 0\.0\.0\.0\/0 into upstream security group upstream-sg/);
    });
    it("rejects a legacy rule from a non-proxy group", async () => {
        const stack = [...validStack(), {
            type: T.legacyRule, name: "legacy", props: { id: "r-legacy", type: "ingress", securityGroupId: "sg-upstream", sourceSecurityGroupId: "sg-other", protocol: "tcp", fromPort: 22, toPort: 22 },
        }];
        assertViolation(await runStack(upstreamOnlyViaProxySg, stack), NAME, /Rule legacy admits security group sg-other/);
    });
});

describe("pki-present-with-rotation", () => {
    const NAME = "pki-present-with-rotation";
    it("accepts a CA and a rotating server certificate", async () => {
        assertCompliant(await runStack(pkiPresentWithRotation, validStack()));
    });
    it("rejects a stack without a CA certificate", async () => {
        const stack = editStack("ca-cert", () => undefined);
        assertViolation(await runStack(pkiPresentWithRotation, stack), NAME, /declares no CA certificate/);
    });
    it("rejects a stack without a server certificate", async () => {
        const stack = editStack("server-cert", (e) => ({ ...e, props: { ...e.props, allowedUses: ["client_auth", "digital_signature"] } }));
        assertViolation(await runStack(pkiPresentWithRotation, stack), NAME, /declares no server certificate/);
    });
    it("rejects a leaf without a rotation window", async () => {
        const stack = editStack("server-cert", (e) => ({ ...e, props: { ...e.props, earlyRenewalHours: 0 } }));
        assertViolation(await runStack(pkiPresentWithRotation, stack), NAME, /Certificate server-cert has no rotation window/);
    });
    it("gives no verdict on an unknown rotation window", async () => {
        const stack = editStack("server-cert", (e) => ({ ...e, props: { ...e.props, earlyRenewalHours: UNKNOWN } }));
        assertCompliant(await runStack(pkiPresentWithRotation, stack));
    });
});
