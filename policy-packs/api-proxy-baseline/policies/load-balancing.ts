/**
 * The layer-4 entry of the tier: the NLB spans AZs and balances across them, production NLBs
 * cannot be deleted by accident, target groups check the real status endpoint, and any TLS the
 * NLB terminates uses a current TLS 1.2/1.3 policy.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, asArray, asBoolean, asRecord, asString, environmentOf, forTypes, known } from "../lib/resource";
import { configSchemaFor, readConfig } from "./config";

function isNetwork(props: Record<string, unknown>): boolean {
    return known(() => asString(props.loadBalancerType)) === "network";
}

export const nlbMultiAz: ResourceValidationPolicy = {
    name: "nlb-multi-az",
    description: "Checks that a load balancer is attached to at least two distinct subnets (one per availability zone).",
    enforcementLevel: "mandatory",
    validateResource: forTypes([TYPES.loadBalancer], (props, _args, reportViolation) => {
        const subnets = known(() => asArray(props.subnets));
        const mappings = known(() => asArray(props.subnetMappings));
        if ((subnets === undefined && known(() => "subnets" in props)) || (mappings === undefined && known(() => "subnetMappings" in props))) {
            return; // computed during preview
        }
        const distinct = new Set<string>();
        const add = (value: unknown, index: string): void => {
            // An unknown subnet id is still one subnet: count it under a placeholder.
            distinct.add(typeof value === "string" ? value : `unknown:${index}`);
        };
        const subnetList = subnets ?? [];
        for (let i = 0; i < subnetList.length; i++) {
            add(known(() => subnetList[i]), `s${i}`);
        }
        const mappingList = mappings ?? [];
        for (let i = 0; i < mappingList.length; i++) {
            const mapping = known(() => asRecord(mappingList[i]));
            add(mapping ? known(() => mapping.subnetId) : undefined, `m${i}`);
        }
        if (distinct.size < 2) {
            reportViolation(`The load balancer is attached to ${distinct.size} subnet(s); it needs at least 2 in distinct availability zones.`);
        }
    }),
};

export const nlbCrossZone: ResourceValidationPolicy = {
    name: "nlb-cross-zone",
    description: "Checks that a network load balancer enables cross-zone load balancing, so one AZ's proxy can serve the other AZ's traffic.",
    enforcementLevel: "mandatory",
    validateResource: forTypes([TYPES.loadBalancer], (props, _args, reportViolation) => {
        if (!isNetwork(props)) {
            return; // ALBs always balance across zones
        }
        const value = known(() => props.enableCrossZoneLoadBalancing);
        if (value === undefined && known(() => "enableCrossZoneLoadBalancing" in props)) {
            return;
        }
        if (asBoolean(value) !== true) {
            reportViolation("The network load balancer must set enableCrossZoneLoadBalancing = true (it is off by default for NLBs).");
        }
    }),
};

export const nlbDeletionProtectionInProd: ResourceValidationPolicy = {
    name: "nlb-deletion-protection-in-prod",
    description: "Checks that load balancers tagged with a production environment enable deletion protection.",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("prodEnvironments"),
    validateResource: forTypes([TYPES.loadBalancer], (props, args, reportViolation) => {
        const { prodEnvironments } = readConfig(args);
        const environment = environmentOf(props);
        if (environment === undefined || !prodEnvironments.includes(environment)) {
            return;
        }
        const value = known(() => props.enableDeletionProtection);
        if (value === undefined && known(() => "enableDeletionProtection" in props)) {
            return;
        }
        if (asBoolean(value) !== true) {
            reportViolation(`The load balancer of environment "${environment}" must set enableDeletionProtection = true.`);
        }
    }),
};

export const targetGroupHealthCheck: ResourceValidationPolicy = {
    name: "target-group-health-check",
    description: "Checks that target groups health-check the proxy's status path over HTTP or HTTPS, not just a TCP connect.",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("healthCheckPath"),
    validateResource: forTypes([TYPES.targetGroup], (props, args, reportViolation) => {
        const { healthCheckPath } = readConfig(args);
        const raw = known(() => props.healthCheck);
        if (raw === undefined && known(() => "healthCheck" in props)) {
            return;
        }
        const check = asRecord(raw);
        if (!check) {
            reportViolation(`The target group has no healthCheck; it must check ${healthCheckPath} over HTTP or HTTPS.`);
            return;
        }
        if (known(() => asBoolean(check.enabled)) === false) {
            reportViolation("The target group's health check is disabled.");
        }
        const protocol = known(() => asString(check.protocol));
        if (protocol === undefined || !["HTTP", "HTTPS"].includes(protocol.toUpperCase())) {
            reportViolation(`The target group health-checks over ${protocol ?? "the default protocol (TCP for NLB target groups)"}; it must use HTTP or HTTPS so a broken nginx is taken out.`);
        }
        const path = known(() => asString(check.path));
        if (path !== healthCheckPath) {
            reportViolation(`The target group health-checks path ${JSON.stringify(path ?? null)}; it must check the status endpoint ${healthCheckPath}.`);
        }
    }),
};

export const targetGroupSourceIpStickiness: ResourceValidationPolicy = {
    name: "target-group-source-ip-stickiness",
    description: "Checks that TCP target groups keep a client on one proxy (stickiness type source_ip, enabled): each proxy enforces the per-IP rate limit in its own memory, and NLB flows hash per connection, so without it N proxies grant a client N times the configured rate.",
    enforcementLevel: "mandatory",
    validateResource: forTypes([TYPES.targetGroup], (props, _args, reportViolation) => {
        if (known(() => asString(props.protocol))?.toUpperCase() !== "TCP") return;
        const raw = known(() => props.stickiness);
        if (raw === undefined && known(() => "stickiness" in props)) return;
        const stickiness = asRecord(raw);
        if (!stickiness || known(() => asString(stickiness.type)) !== "source_ip" || known(() => asBoolean(stickiness.enabled)) === false) {
            reportViolation("The target group does not keep clients on one proxy (stickiness source_ip): each proxy's per-IP rate limit would then multiply by the number of proxies.");
        }
    }),
};

export const listenerTlsPolicy: ResourceValidationPolicy = {
    name: "listener-tls-policy",
    description: "Checks that TLS and HTTPS listeners use an allowed TLS 1.2/1.3 ELB security policy.",
    enforcementLevel: "mandatory",
    configSchema: configSchemaFor("allowedSslPolicies"),
    validateResource: forTypes([TYPES.listener], (props, args, reportViolation) => {
        const protocol = known(() => asString(props.protocol))?.toUpperCase();
        if (protocol !== "TLS" && protocol !== "HTTPS") {
            return;
        }
        const { allowedSslPolicies } = readConfig(args);
        const policy = known(() => asString(props.sslPolicy));
        if (policy === undefined && known(() => "sslPolicy" in props)) {
            return;
        }
        if (policy === undefined || !allowedSslPolicies.includes(policy)) {
            reportViolation(
                `The ${protocol} listener uses ssl policy ${policy ?? "(AWS default)"}; use one of ${allowedSslPolicies.join(", ")}.`,
            );
        }
    }),
};

export const loadBalancingPolicies = [nlbMultiAz, nlbCrossZone, nlbDeletionProtectionInProd, targetGroupHealthCheck, targetGroupSourceIpStickiness, listenerTlsPolicy];
