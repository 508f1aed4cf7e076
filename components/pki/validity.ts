import * as pulumi from "@pulumi/pulumi";

export const HOURS_PER_DAY = 24;
export const HOURS_PER_YEAR = 365 * HOURS_PER_DAY;

/**
 * How long a certificate lives and how early it is re-issued. Hours, like @pulumi/tls.
 * Omitted fields take the component's default for that certificate.
 */
export interface CertificateValidity {
    /** Lifetime of the certificate, in hours. */
    readonly validityHours?: number;
    /**
     * A `pulumi up` this many hours (or fewer) before expiry replaces the certificate
     * (tls `earlyRenewalHours`). Must be > 0 (otherwise nothing rotates before expiry) and
     * shorter than `validityHours` (otherwise every `up` re-issues it).
     */
    readonly earlyRenewalHours?: number;
}

/** A validity with every field decided. */
export interface ResolvedValidity {
    readonly validityHours: number;
    readonly earlyRenewalHours: number;
}

/** Applies `defaults` to the fields `given` leaves out. */
export function resolveValidity(given: CertificateValidity | undefined, defaults: ResolvedValidity): ResolvedValidity {
    return {
        validityHours: given?.validityHours ?? defaults.validityHours,
        earlyRenewalHours: given?.earlyRenewalHours ?? defaults.earlyRenewalHours,
    };
}

/**
 * Throws a ResourceError naming `argName.<field>` unless: both are positive integers,
 * validityHours <= maxValidityHours, and 0 < earlyRenewalHours < validityHours.
 */
export function validateValidity(
    validity: ResolvedValidity, argName: string, maxValidityHours: number, maxCitation: string, resource: pulumi.Resource,
): void {
    const { validityHours, earlyRenewalHours } = validity;
    if (!Number.isInteger(validityHours) || validityHours <= 0) {
        throw new pulumi.ResourceError(`${argName}.validityHours must be a positive integer, got ${validityHours}`, resource);
    }
    if (validityHours > maxValidityHours) {
        throw new pulumi.ResourceError(
            `${argName}.validityHours must be at most ${maxValidityHours} (${maxCitation}), got ${validityHours}`, resource);
    }
    if (!Number.isInteger(earlyRenewalHours) || earlyRenewalHours <= 0) {
        throw new pulumi.ResourceError(
            `${argName}.earlyRenewalHours must be a positive integer: with no renewal window the certificate only ` +
            `changes after it has expired, got ${earlyRenewalHours}`, resource);
    }
    if (earlyRenewalHours >= validityHours) {
        throw new pulumi.ResourceError(
            `${argName}.earlyRenewalHours (${earlyRenewalHours}) must be shorter than ${argName}.validityHours ` +
            `(${validityHours}): otherwise every pulumi up re-issues the certificate`, resource);
    }
}

/**
 * Throws unless a certificate issued by `issuer` cannot outlive it. The issuer is re-issued
 * (and its certificates with it) by the first `up` inside its renewal window, so a child
 * issued before that window opens lives at most `child.validityHours` and must end
 * before the issuer does: child validity <= issuer early renewal.
 */
export function validateNesting(
    child: ResolvedValidity, childArg: string, issuer: ResolvedValidity, issuerArg: string, resource: pulumi.Resource,
): void {
    if (child.validityHours > issuer.earlyRenewalHours) {
        throw new pulumi.ResourceError(
            `${childArg}.validityHours (${child.validityHours}) must not exceed ${issuerArg}.earlyRenewalHours ` +
            `(${issuer.earlyRenewalHours}): a certificate issued just before its CA's renewal window would outlive the CA`,
            resource);
    }
}
