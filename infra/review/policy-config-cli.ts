/**
 * `npm run policy-config -- <stack> [--out FILE]`: writes the policy pack's configuration for
 * the stack (pack-config.ts: its management networks, ports, health path, body limit) in the
 * engine's `--policy-pack-config` form, and prints the preview command that uses it, so engine
 * runs judge the stack by the same configuration as the offline review. Invalid stack config:
 * exit 2 with every field error, nothing written.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadStackOrReport, stackAndOut } from "../config/load";
import { enginePolicyConfig } from "./pack-config";

const ROOT = path.resolve(__dirname, "..", "..");
const USAGE = "usage: npm run policy-config -- <stack> [--out FILE]";

function main(argv: readonly string[]): number {
    const args = stackAndOut(argv);
    if (args === undefined) {
        console.error(USAGE);
        return 2;
    }
    const { stack } = args;
    const tier = loadStackOrReport(ROOT, stack);
    if (tier === undefined) return 2;
    const out = args.out ? path.resolve(args.out) : path.join(ROOT, ".tools", "policy-config", `${stack}.json`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(enginePolicyConfig(tier), null, 2)}\n`);
    console.log(`${path.relative(process.cwd(), out)} written. Preview with the stack's own pack configuration:`);
    console.log(`  bin/pulumi preview -s ${stack} --policy-pack policy-packs/api-proxy-baseline --policy-pack-config ${path.relative(ROOT, out)}`);
    return 0;
}

process.exitCode = main(process.argv.slice(2));
