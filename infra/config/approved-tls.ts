/** The NIST SP 800-52r2 allow-lists the config is checked against: the nginx renderer's own. */
import {
    APPROVED_TLS_GROUPS,
    APPROVED_TLS_PROTOCOLS,
    APPROVED_TLS12_CIPHERS,
    APPROVED_TLS13_CIPHERSUITES,
} from "../../components/nginx/constants";

export const APPROVED_TLS = {
    protocols: APPROVED_TLS_PROTOCOLS as readonly string[],
    tls12Ciphers: APPROVED_TLS12_CIPHERS as readonly string[],
    tls13Ciphersuites: APPROVED_TLS13_CIPHERSUITES as readonly string[],
    groups: APPROVED_TLS_GROUPS as readonly string[],
};
