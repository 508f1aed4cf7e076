import { isIP } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import {
    DEFAULT_CLIENT_CA_VALIDITY, DEFAULT_INTERMEDIATE_CA_VALIDITY, DEFAULT_KEY_ALGORITHM, DEFAULT_LEAF_VALIDITY,
    DEFAULT_ORGANIZATION, DEFAULT_ROOT_CA_VALIDITY, MAX_CA_VALIDITY_CITATION, MAX_CA_VALIDITY_HOURS,
    MAX_LEAF_VALIDITY_CITATION, MAX_LEAF_VALIDITY_HOURS,
} from "./defaults";
import { validateKeyAlgorithm, type KeyAlgorithm } from "./key-algorithm";
import type { PkiArgs } from "./pki";
import { resolveValidity, validateNesting, validateValidity, type ResolvedValidity } from "./validity";

/** Same rule as the stack schema (infra/config/schema.ts): names become resource names and file names. */
const NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** RFC 1035 §2.3.4 labels (63 octets, 253 total), optionally one leading wildcard label (RFC 6125 §6.4.3). */
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
/** RFC 5280 Appendix A ub-common-name / ub-organization-name. */
const MAX_SUBJECT_FIELD_LENGTH = 64;

export interface ResolvedPkiArgs {
    readonly keyAlgorithm: KeyAlgorithm;
    readonly organization: string;
    readonly endpoints: readonly { name: string; dnsNames: readonly string[]; ipAddresses: readonly string[] }[];
    readonly clients: readonly { name: string; commonName: string }[];
    readonly rootCaValidity: ResolvedValidity;
    readonly intermediateCaValidity: ResolvedValidity;
    readonly clientCaValidity: ResolvedValidity;
    readonly serverCertificateValidity: ResolvedValidity;
    readonly clientCertificateValidity: ResolvedValidity;
}

function isDnsName(name: string): boolean {
    const labels = name.replace(/^\*\./, "").split(".");
    return name.length <= 253 && labels.every((label) => DNS_LABEL.test(label));
}

function requireUnique(values: readonly string[], argPath: (index: number) => string, resource: pulumi.Resource): void {
    values.forEach((value, index) => {
        if (values.indexOf(value) !== index) {
            throw new pulumi.ResourceError(`${argPath(index)} "${value}" is declared twice`, resource);
        }
    });
}

/**
 * Applies the defaults and checks every arg; throws a ResourceError naming the offending arg.
 * Runs before the Pki creates any child.
 */
export function resolvePkiArgs(args: PkiArgs, resource: pulumi.Resource): ResolvedPkiArgs {
    const fail = (message: string): never => { throw new pulumi.ResourceError(message, resource); };

    const keyAlgorithm = args.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM;
    validateKeyAlgorithm(keyAlgorithm, "keyAlgorithm", resource);

    const organization = args.organization ?? DEFAULT_ORGANIZATION;
    if (organization.length === 0 || organization.length > MAX_SUBJECT_FIELD_LENGTH) {
        fail(`organization must be 1 to ${MAX_SUBJECT_FIELD_LENGTH} characters`);
    }

    if (args.endpoints.length === 0) {
        fail("endpoints must list at least one server endpoint: the proxy cannot serve TLS without a certificate");
    }
    const endpoints = args.endpoints.map((endpoint, i) => {
        if (!NAME.test(endpoint.name)) fail(`endpoints[${i}].name must match ${NAME.source}, got "${endpoint.name}"`);
        const ipAddresses = endpoint.ipAddresses ?? [];
        if (endpoint.dnsNames.length + ipAddresses.length === 0) {
            fail(`endpoints[${i}].dnsNames must not be empty when ipAddresses is empty: a certificate needs a subjectAltName (RFC 6125 §6.4.4)`);
        }
        endpoint.dnsNames.forEach((dns, j) => {
            if (!isDnsName(dns)) fail(`endpoints[${i}].dnsNames[${j}] is not a DNS name: "${dns}"`);
        });
        ipAddresses.forEach((ip, j) => {
            if (isIP(ip) === 0) fail(`endpoints[${i}].ipAddresses[${j}] is not an IP address: "${ip}"`);
        });
        return { name: endpoint.name, dnsNames: [...endpoint.dnsNames], ipAddresses: [...ipAddresses] };
    });
    requireUnique(endpoints.map((e) => e.name), (i) => `endpoints[${i}].name`, resource);

    const clients = (args.clients ?? []).map((client, i) => {
        if (!NAME.test(client.name)) fail(`clients[${i}].name must match ${NAME.source}, got "${client.name}"`);
        if (client.commonName.length === 0 || client.commonName.length > MAX_SUBJECT_FIELD_LENGTH) {
            fail(`clients[${i}].commonName must be 1 to ${MAX_SUBJECT_FIELD_LENGTH} characters`);
        }
        return { name: client.name, commonName: client.commonName };
    });
    requireUnique(clients.map((c) => c.name), (i) => `clients[${i}].name`, resource);
    // nginx authorizes mTLS callers by subject ($ssl_client_s_dn): two apps with one CN are one app.
    requireUnique(clients.map((c) => c.commonName), (i) => `clients[${i}].commonName`, resource);

    const rootCaValidity = resolveValidity(args.rootCaValidity, DEFAULT_ROOT_CA_VALIDITY);
    const intermediateCaValidity = resolveValidity(args.intermediateCaValidity, DEFAULT_INTERMEDIATE_CA_VALIDITY);
    const clientCaValidity = resolveValidity(args.clientCaValidity, DEFAULT_CLIENT_CA_VALIDITY);
    const serverCertificateValidity = resolveValidity(args.serverCertificateValidity, DEFAULT_LEAF_VALIDITY);
    const clientCertificateValidity = resolveValidity(args.clientCertificateValidity, DEFAULT_LEAF_VALIDITY);

    validateValidity(rootCaValidity, "rootCaValidity", MAX_CA_VALIDITY_HOURS, MAX_CA_VALIDITY_CITATION, resource);
    validateValidity(intermediateCaValidity, "intermediateCaValidity", MAX_CA_VALIDITY_HOURS, MAX_CA_VALIDITY_CITATION, resource);
    validateValidity(clientCaValidity, "clientCaValidity", MAX_CA_VALIDITY_HOURS, MAX_CA_VALIDITY_CITATION, resource);
    validateValidity(serverCertificateValidity, "serverCertificateValidity", MAX_LEAF_VALIDITY_HOURS, MAX_LEAF_VALIDITY_CITATION, resource);
    validateValidity(clientCertificateValidity, "clientCertificateValidity", MAX_LEAF_VALIDITY_HOURS, MAX_LEAF_VALIDITY_CITATION, resource);

    validateNesting(intermediateCaValidity, "intermediateCaValidity", rootCaValidity, "rootCaValidity", resource);
    validateNesting(serverCertificateValidity, "serverCertificateValidity", intermediateCaValidity, "intermediateCaValidity", resource);
    validateNesting(clientCertificateValidity, "clientCertificateValidity", clientCaValidity, "clientCaValidity", resource);

    return {
        keyAlgorithm, organization, endpoints, clients,
        rootCaValidity, intermediateCaValidity, clientCaValidity, serverCertificateValidity, clientCertificateValidity,
    };
}
