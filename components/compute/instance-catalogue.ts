/**
 * Which EC2 instance types may run the proxy tier (pure data + functions, no resources).
 *
 * Allowed: x86_64 with AES-NI (every Intel Xeon / AMD EPYC generation listed has it, so TLS
 * bulk crypto runs in hardware) and local NVMe instance store (nginx's proxy buffers and
 * temp files stay off the network-attached root volume). Graviton types are refused: the
 * golden image and its validation are built for x86_64, and the brief asks for AES-NI.
 * Sizes: AWS EC2 instance-type specifications (vCPU, memory GiB, total instance store GB).
 * Families are listed only where all three facts are confirmed; c8id/m8id/r8id are left out
 * until their size tables are confirmed.
 */

/** seed: the smallest proxy host - 4 vCPU, 8 GiB, 50 GB local NVMe. */
export const MIN_VCPUS = 4;
export const MIN_MEMORY_GIB = 8;
export const MIN_INSTANCE_STORE_GB = 50;

export interface InstanceTypeInfo {
    readonly instanceType: string;
    readonly family: string;
    readonly vcpus: number;
    readonly memoryGib: number;
    /** Total local NVMe instance store, GB. */
    readonly instanceStoreGb: number;
    readonly cpu: "intel" | "amd";
}

type SizeRow = readonly [size: string, vcpus: number, memoryGib: number, instanceStoreGb: number];

/** Family -> CPU vendor and size rows (instance store = volumes x size). */
const FAMILIES: Readonly<Record<string, { readonly cpu: "intel" | "amd"; readonly sizes: readonly SizeRow[] }>> = {
    c5d: { cpu: "intel", sizes: [
        ["large", 2, 4, 50], ["xlarge", 4, 8, 100], ["2xlarge", 8, 16, 200], ["4xlarge", 16, 32, 400],
        ["9xlarge", 36, 72, 900], ["12xlarge", 48, 96, 1800], ["18xlarge", 72, 144, 1800], ["24xlarge", 96, 192, 3600],
    ] },
    c5ad: { cpu: "amd", sizes: [
        ["large", 2, 4, 75], ["xlarge", 4, 8, 150], ["2xlarge", 8, 16, 300], ["4xlarge", 16, 32, 600],
        ["8xlarge", 32, 64, 1200], ["12xlarge", 48, 96, 1800], ["16xlarge", 64, 128, 2400], ["24xlarge", 96, 192, 3800],
    ] },
    c6id: { cpu: "intel", sizes: [
        ["large", 2, 4, 118], ["xlarge", 4, 8, 237], ["2xlarge", 8, 16, 474], ["4xlarge", 16, 32, 950],
        ["8xlarge", 32, 64, 1900], ["12xlarge", 48, 96, 2850], ["16xlarge", 64, 128, 3800], ["24xlarge", 96, 192, 5700],
        ["32xlarge", 128, 256, 7600],
    ] },
    m5d: { cpu: "intel", sizes: [
        ["large", 2, 8, 75], ["xlarge", 4, 16, 150], ["2xlarge", 8, 32, 300], ["4xlarge", 16, 64, 600],
        ["8xlarge", 32, 128, 1200], ["12xlarge", 48, 192, 1800], ["16xlarge", 64, 256, 2400], ["24xlarge", 96, 384, 3600],
    ] },
    m5ad: { cpu: "amd", sizes: [
        ["large", 2, 8, 75], ["xlarge", 4, 16, 150], ["2xlarge", 8, 32, 300], ["4xlarge", 16, 64, 600],
        ["8xlarge", 32, 128, 1200], ["12xlarge", 48, 192, 1800], ["16xlarge", 64, 256, 2400], ["24xlarge", 96, 384, 3600],
    ] },
    m6id: { cpu: "intel", sizes: [
        ["large", 2, 8, 118], ["xlarge", 4, 16, 237], ["2xlarge", 8, 32, 474], ["4xlarge", 16, 64, 950],
        ["8xlarge", 32, 128, 1900], ["12xlarge", 48, 192, 2850], ["16xlarge", 64, 256, 3800], ["24xlarge", 96, 384, 5700],
        ["32xlarge", 128, 512, 7600],
    ] },
    m6idn: { cpu: "intel", sizes: [
        ["large", 2, 8, 118], ["xlarge", 4, 16, 237], ["2xlarge", 8, 32, 474], ["4xlarge", 16, 64, 950],
        ["8xlarge", 32, 128, 1900], ["12xlarge", 48, 192, 2850], ["16xlarge", 64, 256, 3800], ["24xlarge", 96, 384, 5700],
        ["32xlarge", 128, 512, 7600],
    ] },
    r5d: { cpu: "intel", sizes: [
        ["large", 2, 16, 75], ["xlarge", 4, 32, 150], ["2xlarge", 8, 64, 300], ["4xlarge", 16, 128, 600],
        ["8xlarge", 32, 256, 1200], ["12xlarge", 48, 384, 1800], ["16xlarge", 64, 512, 2400], ["24xlarge", 96, 768, 3600],
    ] },
    r6id: { cpu: "intel", sizes: [
        ["large", 2, 16, 118], ["xlarge", 4, 32, 237], ["2xlarge", 8, 64, 474], ["4xlarge", 16, 128, 950],
        ["8xlarge", 32, 256, 1900], ["12xlarge", 48, 384, 2850], ["16xlarge", 64, 512, 3800], ["24xlarge", 96, 768, 5700],
        ["32xlarge", 128, 1024, 7600],
    ] },
    i3en: { cpu: "intel", sizes: [
        ["large", 2, 16, 1250], ["xlarge", 4, 32, 2500], ["2xlarge", 8, 64, 5000], ["3xlarge", 12, 96, 7500],
        ["6xlarge", 24, 192, 15000], ["12xlarge", 48, 384, 30000], ["24xlarge", 96, 768, 60000],
    ] },
    i4i: { cpu: "intel", sizes: [
        ["large", 2, 16, 468], ["xlarge", 4, 32, 937], ["2xlarge", 8, 64, 1875], ["4xlarge", 16, 128, 3750],
        ["8xlarge", 32, 256, 7500], ["16xlarge", 64, 512, 15000], ["32xlarge", 128, 1024, 30000],
    ] },
    x2idn: { cpu: "intel", sizes: [
        ["16xlarge", 64, 1024, 1900], ["24xlarge", 96, 1536, 2850], ["32xlarge", 128, 2048, 3800],
    ] },
};

/** x86 families without any instance store: refused with a pointer to their "d" variant. */
const NO_INSTANCE_STORE_FAMILIES: ReadonlySet<string> = new Set([
    "t2", "t3", "t3a", "c5", "c5a", "c5n", "c6i", "c6in", "c6a", "c7i", "c7i-flex", "c7a",
    "m5", "m5a", "m5n", "m5zn", "m6i", "m6in", "m6a", "m7i", "m7i-flex", "m7a",
    "r5", "r5a", "r5b", "r5n", "r6i", "r6in", "r6a", "r7i", "r7iz", "r7a",
]);

/** Graviton (arm64) families: a1, and any family whose attribute letters start with "g" (c7gd, x2gd, im4gn, is4gen). */
function isArmFamily(family: string): boolean {
    return family === "a1" || /^[a-z]+\d+g[a-z]*$/.test(family);
}

const CATALOGUE: ReadonlyMap<string, InstanceTypeInfo> = new Map(
    Object.entries(FAMILIES).flatMap(([family, { cpu, sizes }]) => sizes.map(([size, vcpus, memoryGib, instanceStoreGb]) => {
        const instanceType = `${family}.${size}`;
        return [instanceType, { instanceType, family, vcpus, memoryGib, instanceStoreGb, cpu }] as const;
    })),
);

/** Every catalogued type (allowed or not), for the policy pack's own check: one table for both. */
export const CATALOGUED_INSTANCE_TYPES: readonly InstanceTypeInfo[] = [...CATALOGUE.values()];
/** The catalogued families. */
export const INSTANCE_FAMILIES: readonly string[] = Object.keys(FAMILIES);

function meetsMinimums(info: InstanceTypeInfo): boolean {
    return info.vcpus >= MIN_VCPUS && info.memoryGib >= MIN_MEMORY_GIB && info.instanceStoreGb >= MIN_INSTANCE_STORE_GB;
}

/** Every instance type the tier accepts, smallest first within each family. */
export const ALLOWED_INSTANCE_TYPES: readonly string[] = [...CATALOGUE.values()].filter(meetsMinimums).map((i) => i.instanceType);

/** The smallest accepted size of each family: what an error message suggests. */
export const SUGGESTED_INSTANCE_TYPES: readonly string[] = Object.keys(FAMILIES)
    .map((family) => ALLOWED_INSTANCE_TYPES.find((t) => t.startsWith(`${family}.`)))
    .filter((t): t is string => t !== undefined);

/** Catalogue facts for a type, whether or not it is allowed (undefined when not catalogued). */
export function instanceTypeInfo(instanceType: string): InstanceTypeInfo | undefined {
    return CATALOGUE.get(instanceType);
}

export type InstanceTypeCheck =
    | { readonly ok: true; readonly info: InstanceTypeInfo }
    | { readonly ok: false; readonly reason: string };

/** Accepts an allowed type, or says exactly why not and what to choose instead. */
export function checkInstanceType(instanceType: string): InstanceTypeCheck {
    const choose = `choose one of ${SUGGESTED_INSTANCE_TYPES.join(", ")}`;
    const quoted = JSON.stringify(instanceType);
    const family = instanceType.split(".")[0] ?? "";
    const info = CATALOGUE.get(instanceType);
    if (info !== undefined) {
        if (info.vcpus < MIN_VCPUS) {
            return { ok: false, reason: `${quoted} has ${info.vcpus} vCPU (< ${MIN_VCPUS}); choose ${family}.xlarge or larger, or one of ${SUGGESTED_INSTANCE_TYPES.join(", ")}` };
        }
        if (info.memoryGib < MIN_MEMORY_GIB) {
            return { ok: false, reason: `${quoted} has ${info.memoryGib} GiB memory (< ${MIN_MEMORY_GIB}); ${choose}` };
        }
        if (info.instanceStoreGb < MIN_INSTANCE_STORE_GB) {
            return { ok: false, reason: `${quoted} has ${info.instanceStoreGb} GB local NVMe (< ${MIN_INSTANCE_STORE_GB}); ${choose}` };
        }
        return { ok: true, info };
    }
    if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(instanceType)) {
        return { ok: false, reason: `${quoted} is an unknown instance type (expected family.size, e.g. c6id.xlarge); ${choose}` };
    }
    if (isArmFamily(family)) {
        return { ok: false, reason: `${quoted} is ARM (Graviton, no AES-NI); ${choose}` };
    }
    if (NO_INSTANCE_STORE_FAMILIES.has(family)) {
        return { ok: false, reason: `${quoted} has no local NVMe instance store; ${choose}` };
    }
    if (Object.hasOwn(FAMILIES, family)) {
        return { ok: false, reason: `${quoted} is an unknown instance type (no such ${family} size in the catalogue); ${choose}` };
    }
    return { ok: false, reason: `${quoted} is an unknown instance type (not in the catalogue of x86 AES-NI types with local NVMe); ${choose}` };
}
