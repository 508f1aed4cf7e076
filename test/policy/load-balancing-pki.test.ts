import { describe, it } from "node:test";
import {
    listenerTlsPolicy, nlbCrossZone, nlbDeletionProtectionInProd, nlbMultiAz, targetGroupHealthCheck, targetGroupSourceIpStickiness,
} from "../../policy-packs/api-proxy-baseline/policies/load-balancing";
import { certificateKeyUsage, certificateValidity, tlsKeyStrength } from "../../policy-packs/api-proxy-baseline/policies/pki";
import { tierTagsPresent } from "../../policy-packs/api-proxy-baseline/policies/tagging";
import {
    T, validCaCert, validInstance, validLoadBalancer, validPrivateKey, validSecurityGroup, validServerCert, validTargetGroup, validTlsListener,
} from "./fixtures";
import { UNKNOWN, assertCompliant, assertNotApplicable, assertViolation, broken, runResource } from "./util";

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("nlb-multi-az", () => {
    const NAME = "nlb-multi-az";
    it("accepts two subnets, or two subnet mappings", async () => {
        assertCompliant(await runResource(nlbMultiAz, T.loadBalancer, validLoadBalancer()));
        const mapped = { ...validLoadBalancer(), subnets: undefined, subnetMappings: [{ subnetId: "a" }, { subnetId: "b" }] };
        assertCompliant(await runResource(nlbMultiAz, T.loadBalancer, mapped));
    });
    it("rejects a single subnet (also when listed twice)", async () => {
        assertViolation(await runResource(nlbMultiAz, T.loadBalancer, { ...validLoadBalancer(), subnets: ["subnet-a"] }), NAME, /attached to 1 subnet\(s\); it needs at least 2/);
        assertViolation(await runResource(nlbMultiAz, T.loadBalancer, { ...validLoadBalancer(), subnets: ["subnet-a", "subnet-a"] }), NAME, /attached to 1 subnet/);
    });
    it("counts unknown subnet ids as subnets and skips an unknown list", async () => {
        assertCompliant(await runResource(nlbMultiAz, T.loadBalancer, { ...validLoadBalancer(), subnets: [UNKNOWN, UNKNOWN] }));
        assertCompliant(await runResource(nlbMultiAz, T.loadBalancer, { ...validLoadBalancer(), subnets: UNKNOWN }));
    });
    it("only applies to load balancers", async () => {
        assertNotApplicable(await runResource(nlbMultiAz, T.targetGroup, validTargetGroup()));
    });
});

describe("nlb-cross-zone", () => {
    const NAME = "nlb-cross-zone";
    it("accepts cross-zone on; ignores ALBs", async () => {
        assertCompliant(await runResource(nlbCrossZone, T.loadBalancer, validLoadBalancer()));
        assertCompliant(await runResource(nlbCrossZone, T.loadBalancer, { ...validLoadBalancer(), loadBalancerType: "application", enableCrossZoneLoadBalancing: undefined }));
    });
    it("rejects cross-zone off or unset on an NLB", async () => {
        assertViolation(await runResource(nlbCrossZone, T.loadBalancer, { ...validLoadBalancer(), enableCrossZoneLoadBalancing: false }), NAME, /must set enableCrossZoneLoadBalancing = true/);
        const unset = broken(validLoadBalancer() as Mutable, (p) => delete p.enableCrossZoneLoadBalancing);
        assertViolation(await runResource(nlbCrossZone, T.loadBalancer, unset), NAME, /enableCrossZoneLoadBalancing/);
    });
    it("only applies to load balancers", async () => {
        assertNotApplicable(await runResource(nlbCrossZone, T.listener, validTlsListener()));
    });
});

describe("nlb-deletion-protection-in-prod", () => {
    const NAME = "nlb-deletion-protection-in-prod";
    it("accepts protection in prod and no protection in dev", async () => {
        assertCompliant(await runResource(nlbDeletionProtectionInProd, T.loadBalancer, validLoadBalancer("prod")));
        assertCompliant(await runResource(nlbDeletionProtectionInProd, T.loadBalancer, { ...validLoadBalancer("dev"), enableDeletionProtection: false }));
    });
    it("rejects an unprotected prod NLB", async () => {
        assertViolation(await runResource(nlbDeletionProtectionInProd, T.loadBalancer, { ...validLoadBalancer("prod"), enableDeletionProtection: false }), NAME, /environment "prod" must set enableDeletionProtection = true/);
    });
    it("uses the configured production environments", async () => {
        const staging = { ...validLoadBalancer("staging"), enableDeletionProtection: false };
        assertCompliant(await runResource(nlbDeletionProtectionInProd, T.loadBalancer, staging));
        assertViolation(await runResource(nlbDeletionProtectionInProd, T.loadBalancer, staging, { prodEnvironments: ["prod", "staging"] }), NAME, /"staging"/);
    });
    it("only applies to load balancers", async () => {
        assertNotApplicable(await runResource(nlbDeletionProtectionInProd, T.instance, validInstance()));
    });
});

describe("target-group-source-ip-stickiness", () => {
    const NAME = "target-group-source-ip-stickiness";
    it("accepts source-IP stickiness on a TCP target group", async () => {
        assertCompliant(await runResource(targetGroupSourceIpStickiness, T.targetGroup, validTargetGroup()));
    });
    it("rejects no stickiness, another type, or stickiness disabled", async () => {
        const none = broken(validTargetGroup() as Mutable, (p) => delete p.stickiness);
        assertViolation(await runResource(targetGroupSourceIpStickiness, T.targetGroup, none), NAME, /per-IP rate limit would then multiply/);
        const lbCookie = broken(validTargetGroup() as Mutable, (p) => { p.stickiness.type = "lb_cookie"; });
        assertViolation(await runResource(targetGroupSourceIpStickiness, T.targetGroup, lbCookie), NAME, /stickiness source_ip/);
        const off = broken(validTargetGroup() as Mutable, (p) => { p.stickiness.enabled = false; });
        assertViolation(await runResource(targetGroupSourceIpStickiness, T.targetGroup, off), NAME, /stickiness source_ip/);
    });
    it("only applies to target groups", async () => {
        assertNotApplicable(await runResource(targetGroupSourceIpStickiness, T.loadBalancer, validLoadBalancer()));
    });
});

describe("target-group-health-check", () => {
    const NAME = "target-group-health-check";
    it("accepts an HTTP(S) check of the status path", async () => {
        assertCompliant(await runResource(targetGroupHealthCheck, T.targetGroup, validTargetGroup()));
        const https = broken(validTargetGroup() as Mutable, (p) => { p.healthCheck.protocol = "HTTPS"; });
        assertCompliant(await runResource(targetGroupHealthCheck, T.targetGroup, https));
    });
    it("rejects a TCP check, a wrong path, a disabled or missing check", async () => {
        const tcp = broken(validTargetGroup() as Mutable, (p) => { p.healthCheck.protocol = "TCP"; });
        assertViolation(await runResource(targetGroupHealthCheck, T.targetGroup, tcp), NAME, /health-checks over TCP; it must use HTTP or HTTPS/);
        const path = broken(validTargetGroup() as Mutable, (p) => { p.healthCheck.path = "/"; });
        assertViolation(await runResource(targetGroupHealthCheck, T.targetGroup, path), NAME, /path "\/"; it must check the status endpoint \/healthz/);
        const off = broken(validTargetGroup() as Mutable, (p) => { p.healthCheck.enabled = false; });
        assertViolation(await runResource(targetGroupHealthCheck, T.targetGroup, off), NAME, /health check is disabled/);
        const none = broken(validTargetGroup() as Mutable, (p) => delete p.healthCheck);
        assertViolation(await runResource(targetGroupHealthCheck, T.targetGroup, none), NAME, /has no healthCheck/);
    });
    it("uses the configured status path", async () => {
        assertViolation(await runResource(targetGroupHealthCheck, T.targetGroup, validTargetGroup(), { healthCheckPath: "/status" }), NAME, /status endpoint \/status/);
    });
    it("only applies to target groups", async () => {
        assertNotApplicable(await runResource(targetGroupHealthCheck, T.loadBalancer, validLoadBalancer()));
    });
});

describe("listener-tls-policy", () => {
    const NAME = "listener-tls-policy";
    it("accepts an allowed policy on TLS and ignores TCP passthrough", async () => {
        assertCompliant(await runResource(listenerTlsPolicy, T.listener, validTlsListener()));
        assertCompliant(await runResource(listenerTlsPolicy, T.listener, { ...validTlsListener(), protocol: "TCP", sslPolicy: undefined }));
    });
    it("rejects an outdated or missing policy", async () => {
        assertViolation(await runResource(listenerTlsPolicy, T.listener, { ...validTlsListener(), sslPolicy: "ELBSecurityPolicy-2016-08" }), NAME, /TLS listener uses ssl policy ELBSecurityPolicy-2016-08/);
        const none = broken(validTlsListener() as Mutable, (p) => delete p.sslPolicy);
        assertViolation(await runResource(listenerTlsPolicy, T.listener, { ...none, protocol: "HTTPS" }), NAME, /HTTPS listener uses ssl policy \(AWS default\)/);
    });
    it("only applies to listeners", async () => {
        assertNotApplicable(await runResource(listenerTlsPolicy, T.targetGroup, validTargetGroup()));
    });
});

describe("tls-key-strength", () => {
    const NAME = "tls-key-strength";
    it("accepts ECDSA P256/P384 and RSA 3072+", async () => {
        assertCompliant(await runResource(tlsKeyStrength, T.privateKey, validPrivateKey()));
        assertCompliant(await runResource(tlsKeyStrength, T.privateKey, { algorithm: "ECDSA", ecdsaCurve: "P384" }));
        assertCompliant(await runResource(tlsKeyStrength, T.privateKey, { algorithm: "RSA", rsaBits: 4096 }));
        // Ed25519: 128-bit strength (FIPS 186-5); the local and inventory targets' SSH keys.
        assertCompliant(await runResource(tlsKeyStrength, T.privateKey, { algorithm: "ED25519" }));
    });
    it("rejects weak or defaulted parameters", async () => {
        assertViolation(await runResource(tlsKeyStrength, T.privateKey, { algorithm: "ECDSA", ecdsaCurve: "P224" }), NAME, /ECDSA curve P224 is not allowed/);
        assertViolation(await runResource(tlsKeyStrength, T.privateKey, { algorithm: "ECDSA" }), NAME, /provider default P224/);
        assertViolation(await runResource(tlsKeyStrength, T.privateKey, { algorithm: "RSA", rsaBits: 2048 }), NAME, /RSA key of 2048 bits is too small; at least 3072/);
        assertViolation(await runResource(tlsKeyStrength, T.privateKey, { algorithm: "RSA" }), NAME, /2048 \(provider default\)/);
        assertViolation(await runResource(tlsKeyStrength, T.privateKey, { algorithm: "DSA" }), NAME, /Key algorithm DSA is not allowed/);
    });
    it("tolerates unknown values and only applies to private keys", async () => {
        assertCompliant(await runResource(tlsKeyStrength, T.privateKey, { algorithm: UNKNOWN }));
        assertCompliant(await runResource(tlsKeyStrength, T.privateKey, { algorithm: "RSA", rsaBits: UNKNOWN }));
        assertNotApplicable(await runResource(tlsKeyStrength, T.selfSignedCert, validCaCert()));
    });
});

describe("certificate-validity", () => {
    const NAME = "certificate-validity";
    it("accepts bounded leaf and CA certificates with a rotation window", async () => {
        assertCompliant(await runResource(certificateValidity, T.locallySignedCert, validServerCert()));
        assertCompliant(await runResource(certificateValidity, T.selfSignedCert, validCaCert()));
    });
    it("rejects a leaf valid longer than the maximum", async () => {
        const long = { ...validServerCert(), validityPeriodHours: 400 * 24 };
        assertViolation(await runResource(certificateValidity, T.locallySignedCert, long), NAME, /certificate is valid for 9600 hours \(400 days\); the maximum is 200 days/);
        assertViolation(await runResource(certificateValidity, T.locallySignedCert, validServerCert(), { maxCertificateValidityDays: 30 }), NAME, /maximum is 30 days/);
    });
    it("rejects a CA valid longer than the CA maximum", async () => {
        assertViolation(await runResource(certificateValidity, T.selfSignedCert, { ...validCaCert(), validityPeriodHours: 20 * 365 * 24 }), NAME, /CA certificate is valid for .* the maximum is 3650 days/);
    });
    it("rejects a missing, zero or too-large earlyRenewalHours", async () => {
        const none = broken(validServerCert() as Mutable, (p) => delete p.earlyRenewalHours);
        assertViolation(await runResource(certificateValidity, T.locallySignedCert, none), NAME, /earlyRenewalHours must be > 0 \(it is unset\)/);
        assertViolation(await runResource(certificateValidity, T.locallySignedCert, { ...validServerCert(), earlyRenewalHours: 0 }), NAME, /must be > 0 \(it is 0\)/);
        assertViolation(await runResource(certificateValidity, T.locallySignedCert, { ...validServerCert(), earlyRenewalHours: 90 * 24 }), NAME, /earlyRenewalHours \(2160\) must be less than its validityPeriodHours \(2160\)/);
    });
    it("rejects a missing validity", async () => {
        const none = broken(validServerCert() as Mutable, (p) => delete p.validityPeriodHours);
        assertViolation(await runResource(certificateValidity, T.locallySignedCert, none), NAME, /sets no validityPeriodHours/);
    });
    it("tolerates unknown values and only applies to certificates", async () => {
        assertCompliant(await runResource(certificateValidity, T.locallySignedCert, { ...validServerCert(), validityPeriodHours: UNKNOWN }));
        assertNotApplicable(await runResource(certificateValidity, T.privateKey, validPrivateKey()));
    });
});

describe("certificate-key-usage", () => {
    const NAME = "certificate-key-usage";
    it("accepts a CA with cert_signing and a leaf without it", async () => {
        assertCompliant(await runResource(certificateKeyUsage, T.selfSignedCert, validCaCert()));
        assertCompliant(await runResource(certificateKeyUsage, T.locallySignedCert, validServerCert()));
    });
    it("rejects a CA without cert_signing", async () => {
        assertViolation(await runResource(certificateKeyUsage, T.selfSignedCert, { ...validCaCert(), allowedUses: ["digital_signature"] }), NAME, /CA certificate \(isCaCertificate = true\) must include cert_signing/);
    });
    it("rejects a leaf that can sign certificates", async () => {
        const leaf = { ...validServerCert(), allowedUses: ["server_auth", "cert_signing"] };
        assertViolation(await runResource(certificateKeyUsage, T.locallySignedCert, leaf), NAME, /leaf certificate .* must not include cert_signing/);
        const unflagged = broken(validCaCert() as Mutable, (p) => delete p.isCaCertificate);
        assertViolation(await runResource(certificateKeyUsage, T.selfSignedCert, unflagged), NAME, /must not include cert_signing/);
    });
    it("tolerates unknown values and only applies to certificates", async () => {
        assertCompliant(await runResource(certificateKeyUsage, T.selfSignedCert, { ...validCaCert(), isCaCertificate: UNKNOWN }));
        assertNotApplicable(await runResource(certificateKeyUsage, T.privateKey, validPrivateKey()));
    });
});

describe("tier-tags-present", () => {
    const NAME = "tier-tags-present";
    it("accepts the tier's tags", async () => {
        assertCompliant(await runResource(tierTagsPresent, T.instance, validInstance()));
        assertCompliant(await runResource(tierTagsPresent, T.securityGroup, validSecurityGroup()));
    });
    it("rejects a missing environment or role tag and an unknown role", async () => {
        const noEnv = broken(validInstance() as Mutable, (p) => delete p.tags["apiproxy:environment"]);
        assertViolation(await runResource(tierTagsPresent, T.instance, noEnv), NAME, /Tag apiproxy:environment is missing/);
        const noRole = broken(validInstance() as Mutable, (p) => delete p.tags["apiproxy:role"]);
        assertViolation(await runResource(tierTagsPresent, T.instance, noRole), NAME, /Tag apiproxy:role is missing/);
        const oddRole = broken(validInstance() as Mutable, (p) => { p.tags["apiproxy:role"] = "bastion"; });
        assertViolation(await runResource(tierTagsPresent, T.instance, oddRole), NAME, /apiproxy:role is "bastion"; it must be one of proxy, upstream, nlb, network/);
    });
    it("tolerates unknown tags and only applies to taggable tier types", async () => {
        assertCompliant(await runResource(tierTagsPresent, T.instance, { ...validInstance(), tags: UNKNOWN }));
        assertNotApplicable(await runResource(tierTagsPresent, T.privateKey, validPrivateKey()));
    });
});
