/**
 * Host file sets: the files that end up together on one host, which is what the host-config
 * checks must judge (an nginx.conf is only meaningful with its includes).
 *
 *  - user data (instance, launch template): one set per carrier, as cloud-init writes it;
 *  - Image Builder components: every component an ImageRecipe lists forms ONE set. The golden
 *    image splits its files over several components (Image Builder caps inline `data` at
 *    16,000 characters), so nginx.conf and its includes travel in different resources. When a
 *    recipe's component ARNs cannot be resolved (preview, no recipe), all the stack's
 *    components form one set;
 *  - an instance / launch template whose user data ships nginx files but no nginx.conf adds
 *    them on top of its image's set (cloud-init runs after the bake and overwrites), because
 *    those files are only checkable together with the image's nginx.conf.
 *
 * Resource policies cannot see sibling resources, so the checks built on this are stack
 * policies; they report on the carrier of the offending file.
 */
import type { PolicyResource } from "@pulumi/policy";
import { NGINX_CONF, carriedFiles, type CarriedFiles } from "./carriers";
import { TYPES, asArray, asRecord, asString, identifiersOf, known } from "./resource";

export const IMAGE_RECIPE_TYPE = "aws:imagebuilder/imageRecipe:ImageRecipe";
export const IMAGE_TYPE = "aws:imagebuilder/image:Image";

/** Two carriers of one set write the same path with different content. */
export interface PathConflict {
    readonly path: string;
    readonly carriers: readonly PolicyResource[];
}

export interface HostFileSet {
    /** Human-readable: which resources the set was merged from. */
    readonly label: string;
    readonly kind: "user-data" | "image" | "image+user-data" | "delivery";
    /** path -> content; on a conflict, the carrier applied last (recipe order) wins. */
    readonly files: Map<string, string>;
    /** path -> the carrier that wrote the content in `files`. */
    readonly origin: Map<string, PolicyResource>;
    readonly carriers: readonly PolicyResource[];
    readonly conflicts: readonly PathConflict[];
}

interface Carrier {
    readonly resource: PolicyResource;
    readonly carried: CarriedFiles;
}

/** Merges carriers in application order. `overlay` carriers replace files silently (user data over image). */
function merge(label: string, kind: HostFileSet["kind"], carriers: readonly Carrier[], overlay: readonly Carrier[] = []): HostFileSet {
    const files = new Map<string, string>();
    const origin = new Map<string, PolicyResource>();
    const writers = new Map<string, { resource: PolicyResource; content: string }[]>();
    for (const { resource, carried } of carriers) {
        for (const [path, content] of carried.files) {
            const list = writers.get(path) ?? [];
            list.push({ resource, content });
            writers.set(path, list);
            files.set(path, content);
            origin.set(path, resource);
        }
    }
    const conflicts: PathConflict[] = [];
    for (const [path, list] of writers) {
        if (new Set(list.map((w) => w.content)).size > 1) {
            conflicts.push({ path, carriers: list.map((w) => w.resource) });
        }
    }
    for (const { resource, carried } of overlay) {
        for (const [path, content] of carried.files) {
            files.set(path, content);
            origin.set(path, resource);
        }
    }
    return { label, kind, files, origin, carriers: [...carriers, ...overlay].map((c) => c.resource), conflicts };
}

/** Component ARNs a recipe lists, in order; undefined when any is unknown (preview). */
function recipeComponentArns(recipe: PolicyResource): string[] | undefined {
    const entries = known(() => asArray(recipe.props.components));
    if (entries === undefined) {
        return undefined;
    }
    const arns: string[] = [];
    for (const entry of entries) {
        const arn = known(() => asString(asRecord(entry)?.componentArn));
        if (arn === undefined) {
            return undefined;
        }
        arns.push(arn);
    }
    return arns;
}

/**
 * The stack components a recipe uses, in recipe order (AWSTOE applies them in that order).
 * Known ARNs decide; otherwise the engine's property dependencies name them (order unknown).
 * undefined = cannot tell.
 */
function recipeMembers(recipe: PolicyResource, components: readonly Carrier[]): Carrier[] | undefined {
    const arns = recipeComponentArns(recipe);
    if (arns !== undefined) {
        // ARNs of AWS-managed components match no stack resource: they carry none of our files.
        return arns.flatMap((arn) => components.filter((c) => identifiersOf(c.resource).includes(arn)));
    }
    const deps = recipe.propertyDependencies?.components;
    if (deps && deps.length > 0) {
        return components.filter((c) => deps.some((d) => d.urn === c.resource.urn));
    }
    return undefined;
}

/** Image sets: one per recipe, or all components together when recipes cannot be resolved. */
function imageSets(resources: readonly PolicyResource[], components: readonly Carrier[]): { set: HostFileSet; recipe?: PolicyResource }[] {
    if (components.length === 0) {
        return [];
    }
    const recipes = resources.filter((r) => r.type === IMAGE_RECIPE_TYPE);
    const grouped = recipes.map((recipe) => ({ recipe, members: recipeMembers(recipe, components) }));
    const names = (list: readonly Carrier[]) => list.map((c) => c.resource.name).join(", ");
    if (grouped.some((g) => g.members === undefined)) {
        return [{ set: merge(`image components ${names(components)}`, "image", components) }];
    }
    const sets: { set: HostFileSet; recipe?: PolicyResource }[] = [];
    const claimed = new Set<string>();
    for (const { recipe, members } of grouped) {
        if (!members || members.length === 0) {
            continue;
        }
        members.forEach((m) => claimed.add(m.resource.urn));
        sets.push({ set: merge(`image recipe ${recipe.name} (components ${names(members)})`, "image", members), recipe });
    }
    const orphans = components.filter((c) => !claimed.has(c.resource.urn));
    if (orphans.length > 0) {
        sets.push({ set: merge(`image components ${names(orphans)} (in no recipe)`, "image", orphans) });
    }
    return sets;
}

/** AMI ids an Image Builder image produced (`outputResources[].amis[].image`). */
export function amisOf(image: PolicyResource): string[] {
    const amis: string[] = [];
    for (const output of known(() => asArray(image.props.outputResources)) ?? []) {
        for (const ami of known(() => asArray(asRecord(output)?.amis)) ?? []) {
            const id = known(() => asString(asRecord(ami)?.image));
            if (id) {
                amis.push(id);
            }
        }
    }
    return amis;
}

/** The image sets a user-data carrier boots from: linked via ami -> Image -> recipe, else every image set. */
function baseImageSets(carrier: PolicyResource, resources: readonly PolicyResource[], sets: readonly { set: HostFileSet; recipe?: PolicyResource }[]): HostFileSet[] {
    const prop = carrier.type === TYPES.launchTemplate ? "imageId" : "ami";
    const ami = known(() => asString(carrier.props[prop]));
    const images = resources.filter((r) => r.type === IMAGE_TYPE && (
        carrier.propertyDependencies?.[prop]?.some((d) => d.urn === r.urn) || (ami !== undefined && amisOf(r).includes(ami))));
    const linked = sets.filter(({ recipe }) => recipe !== undefined && images.some((image) => {
        const recipeArn = known(() => asString(image.props.imageRecipeArn));
        return image.propertyDependencies?.imageRecipeArn?.some((d) => d.urn === recipe.urn)
            || (recipeArn !== undefined && identifiersOf(recipe).includes(recipeArn));
    }));
    return (linked.length > 0 ? linked : sets).map((s) => s.set).filter((s) => s.files.has(NGINX_CONF));
}

const cache = new WeakMap<readonly PolicyResource[], Promise<HostFileSet[]>>();

/** Every host file set of the stack (cached per resource list: each host-config policy asks). */
export function hostFileSets(resources: readonly PolicyResource[]): Promise<HostFileSet[]> {
    let sets = cache.get(resources);
    if (!sets) {
        sets = computeSets(resources);
        cache.set(resources, sets);
    }
    return sets;
}

async function carriersOf(resources: readonly PolicyResource[], type: string): Promise<Carrier[]> {
    const out: Carrier[] = [];
    for (const resource of resources.filter((r) => r.type === type)) {
        const carried = await carriedFiles(resource.type, resource.props);
        if (carried) {
            out.push({ resource, carried });
        }
    }
    return out;
}

async function computeSets(resources: readonly PolicyResource[]): Promise<HostFileSet[]> {
    const images = imageSets(resources, await carriersOf(resources, TYPES.imageComponent));
    const sets: HostFileSet[] = images.map((i) => i.set);
    for (const type of [TYPES.instance, TYPES.launchTemplate]) {
        for (const carrier of await carriersOf(resources, type)) {
            const label = `user data of ${carrier.resource.name}`;
            sets.push(merge(label, "user-data", [carrier]));
            const shipsNginx = [...carrier.carried.files.keys()].some((p) => p.startsWith("/etc/nginx/"));
            if (shipsNginx && !carrier.carried.files.has(NGINX_CONF)) {
                for (const base of baseImageSets(carrier.resource, resources, images)) {
                    const baseCarriers = base.carriers.map((resource) => ({ resource, carried: { files: filesFrom(base, resource), texts: [], problems: [] } }));
                    sets.push(merge(`${base.label} + ${label}`, "image+user-data", baseCarriers, [carrier]));
                }
            }
        }
    }
    // Inventory and local targets: one delivery command carries one host's whole file set.
    for (const carrier of await carriersOf(resources, TYPES.remoteCommand)) {
        sets.push(merge(`delivery of ${carrier.resource.name}`, "delivery", [carrier]));
    }
    return sets;
}

/** The files of `set` that `resource` wrote (to rebuild a set with an overlay). */
function filesFrom(set: HostFileSet, resource: PolicyResource): Map<string, string> {
    return new Map([...set.files].filter(([path]) => set.origin.get(path) === resource));
}

/**
 * The carrier to blame for a message: the one that wrote the longest file path the message
 * names (nginx sources read "/etc/nginx/apiproxy/x.conf:12"), else the one that wrote `fallback`.
 */
export function blame(set: HostFileSet, message: string, fallback: string): PolicyResource | undefined {
    const named = [...set.origin.keys()].filter((p) => message.includes(p)).sort((a, b) => b.length - a.length)[0];
    return set.origin.get(named ?? fallback) ?? set.carriers[0];
}
