/**
 * The tier's PKI as the tls provider declares it: key strength (NIST SP 800-52r2 / 800-57),
 * bounded certificate lifetimes with a rotation window, and CA vs leaf key usages.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { CERTIFICATE_TYPES, TYPES, asArray, asBoolean, asNumber, asString, forTypes, known } from "../lib/resource";
import { configSchemaFor, readConfig } from "./config";

export const tlsKeyStrength: ResourceValidationPolicy = {
    name: "tls-key-strength",
    description: "Checks that private keys are ECDSA on an allowed curve (P-256/P-384), RSA with at least the minimum modulus (3072 bits), or Ed25519 (128-bit strength, FIPS 186-5; the local and inventory targets' SSH keys).",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("allowedEcdsaCurves", "minRsaBits"),
    validateResource: forTypes([TYPES.privateKey], (props, args, reportViolation) => {
        const cfg = readConfig(args);
        const algorithm = known(() => asString(props.algorithm));
        if (algorithm === undefined) {
            if (known(() => "algorithm" in props) === false) {
                reportViolation("The private key sets no algorithm; use ECDSA (P256/P384) or RSA.");
            }
            return;
        }
        switch (algorithm) {
            case "ECDSA": {
                // The provider's default curve is P224, below NIST's 112-bit floor for new keys.
                const curve = known(() => asString(props.ecdsaCurve));
                if (curve === undefined && known(() => "ecdsaCurve" in props)) {
                    return;
                }
                if (curve === undefined || !cfg.allowedEcdsaCurves.includes(curve)) {
                    reportViolation(`ECDSA curve ${curve ?? "(provider default P224)"} is not allowed; use one of ${cfg.allowedEcdsaCurves.join(", ")}.`);
                }
                return;
            }
            case "RSA": {
                // The provider's default is 2048 bits.
                const bits = known(() => asNumber(props.rsaBits));
                if (bits === undefined && known(() => "rsaBits" in props)) {
                    return;
                }
                if (bits === undefined || bits < cfg.minRsaBits) {
                    reportViolation(`RSA key of ${bits ?? "2048 (provider default)"} bits is too small; at least ${cfg.minRsaBits} bits are required.`);
                }
                return;
            }
            case "ED25519":
                // FIPS 186-5 / NIST SP 800-186: approved, 128-bit security strength.
                return;
            default:
                reportViolation(`Key algorithm ${algorithm} is not allowed; use ECDSA (${cfg.allowedEcdsaCurves.join(", ")}), RSA >= ${cfg.minRsaBits} or ED25519.`);
        }
    }),
};

function usesOf(props: Record<string, unknown>): string[] | undefined {
    const list = known(() => asArray(props.allowedUses));
    if (list === undefined) {
        return undefined;
    }
    const out: string[] = [];
    for (let i = 0; i < list.length; i++) {
        const use = known(() => list[i]);
        if (typeof use === "string") {
            out.push(use);
        }
    }
    return out;
}

export const certificateValidity: ResourceValidationPolicy = {
    name: "certificate-validity",
    description: "Checks that certificates are valid no longer than the configured maximum (leaf or CA) and renew early: 0 < earlyRenewalHours < validityPeriodHours.",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("maxCertificateValidityDays", "maxCaCertificateValidityDays"),
    validateResource: forTypes(CERTIFICATE_TYPES, (props, args, reportViolation) => {
        const cfg = readConfig(args);
        const isCa = known(() => asBoolean(props.isCaCertificate)) === true;
        const kind = isCa ? "CA certificate" : "certificate";
        const maxDays = isCa ? cfg.maxCaCertificateValidityDays : cfg.maxCertificateValidityDays;
        const validity = known(() => asNumber(props.validityPeriodHours));
        if (validity === undefined) {
            if (known(() => "validityPeriodHours" in props) === false) {
                reportViolation(`The ${kind} sets no validityPeriodHours; it must be at most ${maxDays} days.`);
            }
            return;
        }
        if (validity > maxDays * 24) {
            reportViolation(`The ${kind} is valid for ${validity} hours (${Math.round(validity / 24)} days); the maximum is ${maxDays} days.`);
        }
        const early = known(() => asNumber(props.earlyRenewalHours));
        if (early === undefined && known(() => "earlyRenewalHours" in props)) {
            return;
        }
        if (early === undefined || early <= 0) {
            reportViolation(`The ${kind} sets no rotation window: earlyRenewalHours must be > 0 (it is ${early ?? "unset"}).`);
        } else if (early >= validity) {
            reportViolation(`The ${kind}'s earlyRenewalHours (${early}) must be less than its validityPeriodHours (${validity}), or it renews on every run.`);
        }
    }),
};

export const certificateKeyUsage: ResourceValidationPolicy = {
    name: "certificate-key-usage",
    description: "Checks that CA certificates set isCaCertificate and cert_signing, and that leaf (non-CA) certificates cannot sign certificates.",
    enforcementLevel: "mandatory",
    validateResource: forTypes(CERTIFICATE_TYPES, (props, _args, reportViolation) => {
        const uses = usesOf(props);
        if (uses === undefined) {
            return;
        }
        const isCa = known(() => asBoolean(props.isCaCertificate));
        if (isCa === undefined && known(() => "isCaCertificate" in props)) {
            return; // computed during preview
        }
        if (isCa === true && !uses.includes("cert_signing")) {
            reportViolation("The CA certificate (isCaCertificate = true) must include cert_signing in allowedUses.");
        }
        if (isCa !== true && uses.includes("cert_signing")) {
            reportViolation("A leaf certificate (isCaCertificate not true) must not include cert_signing in allowedUses; only CA certificates sign.");
        }
    }),
};

export const pkiPolicies = [tlsKeyStrength, certificateValidity, certificateKeyUsage];
