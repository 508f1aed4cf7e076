/**
 * How a proxy pair's Auto Scaling group replaces its instances (pure: numbers in, provider
 * input objects out). ProxyPair's header says why the tier rolls this way; the AWS facts each
 * value relies on are cited next to it.
 *
 * One Auto Scaling group per pair, two instances, one per AZ. A new launch template version
 * (a new AMI, new user data) starts an instance refresh that keeps at least one of the two in
 * service: the other leaves the NLB target groups (deregistration delay = connection
 * draining), is terminated, its replacement boots from the new version, passes the NLB health
 * check (health check type ELB) and warms up, and only then does the second one go.
 */
import type * as aws from "@pulumi/aws";

/** A pair is two proxies, one in each of its two AZs: it survives the loss of either. */
export const PROXIES_PER_PAIR = 2;
/** Half of the pair stays healthy during a refresh: 50 % of 2, rounded up, is 1 (Auto Scaling
 *  rounds MinHealthyPercentage of the desired capacity up: API RefreshPreferences), so exactly
 *  one proxy is out at a time. */
export const ROLLING_MIN_HEALTHY_PERCENTAGE = 50;
/** Terminate, then launch (the API default, 100): the pair never grows to three, so a refresh
 *  needs no spare capacity, addresses or quota in the AZ. */
export const ROLLING_MAX_HEALTHY_PERCENTAGE = 100;
/** How long a refresh waits, once a replacement is InService, before the next proxy leaves: an
 *  instance counts as updated when its health status is healthy and this time has passed (API
 *  InstanceRefresh.PercentageComplete). Auto Scaling does not act on the NLB's checks inside the
 *  grace period (Auto Scaling User Guide, "Set the health check grace period"), so this, not the
 *  grace period, must cover a golden host's first boot up to the target group's healthy
 *  threshold: cloud-init, certificate fetch, nginx start, NLB registration, 3 passing checks 10 s
 *  apart. Not measured against a live group here; stock-image stacks get 5 minutes more. */
export const DEFAULT_INSTANCE_WARMUP_SECONDS = 300;
/** How long Auto Scaling ignores a new instance's failed NLB checks before replacing it as
 *  unhealthy (the same guide); never shorter than the warm-up. */
export const DEFAULT_HEALTH_CHECK_GRACE_PERIOD_SECONDS = 600;
/** A stock-image host installs nginx and the AWS CLI from the mirrors at first boot (a golden
 *  host has them baked in): five more minutes before its partner leaves, and before it counts
 *  as unhealthy. */
export const STOCK_IMAGE_WARMUP_SECONDS = DEFAULT_INSTANCE_WARMUP_SECONDS + 300;
export const STOCK_IMAGE_GRACE_PERIOD_SECONDS = DEFAULT_HEALTH_CHECK_GRACE_PERIOD_SECONDS + 300;
/** Connection draining: a leaving proxy gets no new flows and keeps its open ones this long, and
 *  only then is it terminated (ELB User Guide, "Deregistration delay": "If the target is part of
 *  an Auto Scaling group, it can be terminated and replaced" after it elapses). 30 s is the
 *  routes' default read timeout, so an ordinary request in flight is answered.
 *  Long-lived streams (WebSocket, gRPC streaming) are closed at its end and reconnect to the
 *  partner; the NLB default (300 s) would make every replacement 5 minutes longer. */
export const DEFAULT_DEREGISTRATION_DELAY_SECONDS = 30;
/** `pulumi up` waits this long for a new pair to be healthy in the target groups (first boot of a
 *  stock host: packages from the mirrors, then 3 passing health checks). */
export const CAPACITY_TIMEOUT = "20m";

/**
 * The group's instance refresh: Rolling, one proxy at a time, started by the provider whenever
 * the group's launch template version changes (always a trigger) or its tags change ("tag": the
 * tags propagate to instances at launch only, so changed tags need new instances).
 * Protected instances are refreshed ("Refresh"): scale-in protection guards the pair against a
 * lowered capacity, never against its own rollout (the API default, "Wait", would stall the
 * refresh for an hour and fail it). Instances in Standby are waited for: an operator took one
 * out on purpose.
 */
export function rollingInstanceRefresh(instanceWarmupSeconds: number): aws.types.input.autoscaling.GroupInstanceRefresh {
    return {
        strategy: "Rolling",
        preferences: {
            minHealthyPercentage: ROLLING_MIN_HEALTHY_PERCENTAGE,
            maxHealthyPercentage: ROLLING_MAX_HEALTHY_PERCENTAGE,
            instanceWarmup: String(instanceWarmupSeconds),
            scaleInProtectedInstances: "Refresh",
            standbyInstances: "Wait",
            skipMatching: false,
        },
        triggers: ["tag"],
    };
}

/** The same bounds for every other replacement (health-check replacement, AZ rebalancing): the
 *  group never replaces both proxies of the pair at once. */
export function pairMaintenancePolicy(): aws.types.input.autoscaling.GroupInstanceMaintenancePolicy {
    return { minHealthyPercentage: ROLLING_MIN_HEALTHY_PERCENTAGE, maxHealthyPercentage: ROLLING_MAX_HEALTHY_PERCENTAGE };
}

/** Pair p's two AZs: subnets 2p and 2p+1 (mod n), always distinct for n >= 2, so pairs spread
 *  over every AZ the network has (prod: pair 0 in a+b, pair 1 in c+a). */
export function pairSubnetIndexes(pair: number, subnetCount: number): [number, number] {
    return [(2 * pair) % subnetCount, (2 * pair + 1) % subnetCount];
}
