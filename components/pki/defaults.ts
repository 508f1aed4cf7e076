import type { KeyAlgorithm } from "./key-algorithm";
import { HOURS_PER_DAY, HOURS_PER_YEAR, type ResolvedValidity } from "./validity";

/**
 * Defaults and ceilings of the `apiproxy:pki:Pki` component, one named constant each.
 * The "Default: ..." lines in pki.ts's args JSDoc must agree (test/unit/pki/defaults.test.ts).
 */

/** P-256: 128-bit security (NIST SP 800-57 Part 1 r5 Table 2), fastest handshakes, universally supported. */
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = { algorithm: "ECDSA", curve: "P256" };

/** Subject O= of every certificate: names who issued it when someone inspects a chain. */
export const DEFAULT_ORGANIZATION = "api-proxy-security";

/** Root: long-lived trust anchor, re-distributed rarely; 10 years is the common private-root term. */
export const DEFAULT_ROOT_CA_VALIDITY_HOURS = 10 * HOURS_PER_YEAR;
/** Root: renew 3 years early so an intermediate (3 years) issued before the window never outlives it. */
export const DEFAULT_ROOT_CA_EARLY_RENEWAL_HOURS = 3 * HOURS_PER_YEAR;

/** Intermediate: the online signing key, so a shorter term (NIST SP 800-57 Part 1 r5 §5.3.6: 1-3 years for signing keys). */
export const DEFAULT_INTERMEDIATE_CA_VALIDITY_HOURS = 3 * HOURS_PER_YEAR;
/** Intermediate: renew a year early, far longer than a leaf (90 days) lives. */
export const DEFAULT_INTERMEDIATE_CA_EARLY_RENEWAL_HOURS = 1 * HOURS_PER_YEAR;

/** Client CA: trusted only by nginx on 8443, rotated with a config reload; 5 years keeps app teams' churn low. */
export const DEFAULT_CLIENT_CA_VALIDITY_HOURS = 5 * HOURS_PER_YEAR;
/** Client CA: renew a year early, far longer than a client certificate (90 days) lives. */
export const DEFAULT_CLIENT_CA_EARLY_RENEWAL_HOURS = 1 * HOURS_PER_YEAR;

/** Leaves: 90 days, inside the CA/B Forum ceiling through 2027 (100 days from 2027-03-15, ballot SC-081). */
export const DEFAULT_LEAF_VALIDITY_HOURS = 90 * HOURS_PER_DAY;
/** Leaves: a 30-day window, so a weekly scheduled `pulumi up` has four chances to rotate before expiry. */
export const DEFAULT_LEAF_EARLY_RENEWAL_HOURS = 30 * HOURS_PER_DAY;

/**
 * Leaf ceiling: CA/Browser Forum Baseline Requirements §6.3.2 as amended by ballot SC-081,
 * 200 days for certificates issued on or after 2026-03-15 (it falls to 100 days on 2027-03-15
 * and 47 days on 2029-03-15). A private PKI is not bound by the BRs, but clients increasingly enforce them.
 */
export const MAX_LEAF_VALIDITY_HOURS = 200 * HOURS_PER_DAY;
export const MAX_LEAF_VALIDITY_CITATION = "CA/Browser Forum BR 6.3.2, ballot SC-081: 200 days from 2026-03-15";

/** CA ceiling: Chrome Root Program Policy term limit, root key material no older than 15 years. */
export const MAX_CA_VALIDITY_HOURS = 15 * HOURS_PER_YEAR;
export const MAX_CA_VALIDITY_CITATION = "Chrome Root Program Policy: 15-year root term limit";

/** Root path length 1: exactly one intermediate below the root, no deeper sub-CAs (RFC 5280 §4.2.1.9). */
export const ROOT_CA_MAX_PATH_LENGTH = 1;

export const DEFAULT_ROOT_CA_VALIDITY: ResolvedValidity = {
    validityHours: DEFAULT_ROOT_CA_VALIDITY_HOURS,
    earlyRenewalHours: DEFAULT_ROOT_CA_EARLY_RENEWAL_HOURS,
};
export const DEFAULT_INTERMEDIATE_CA_VALIDITY: ResolvedValidity = {
    validityHours: DEFAULT_INTERMEDIATE_CA_VALIDITY_HOURS,
    earlyRenewalHours: DEFAULT_INTERMEDIATE_CA_EARLY_RENEWAL_HOURS,
};
export const DEFAULT_CLIENT_CA_VALIDITY: ResolvedValidity = {
    validityHours: DEFAULT_CLIENT_CA_VALIDITY_HOURS,
    earlyRenewalHours: DEFAULT_CLIENT_CA_EARLY_RENEWAL_HOURS,
};
export const DEFAULT_LEAF_VALIDITY: ResolvedValidity = {
    validityHours: DEFAULT_LEAF_VALIDITY_HOURS,
    earlyRenewalHours: DEFAULT_LEAF_EARLY_RENEWAL_HOURS,
};
