/**
 * Runs an AWSTOE component document's phases on a boot-test instance as Image Builder's
 * component manager would (the AWSTOE binary is not published in a package registry, so the two
 * action modules the documents use are executed here, per their documented behaviour):
 *   - ExecuteBash: the step's commands become one script file run with bash, as root; a
 *     non-zero exit fails the step, and a failed step aborts the build (onFailure: Abort);
 *   - CreateFile: each input's content written to its path with its permissions, owner and
 *     group. The parent directory must exist (this runner creates none, so a document that
 *     relies on a directory nothing made fails here rather than depending on an unverified
 *     behaviour of AWSTOE).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import type { Instance } from "./aws-boot-env";

interface ToeStep {
    readonly name: string;
    readonly action: string;
    readonly inputs: unknown;
}
interface ToeDocument {
    readonly name: string;
    readonly phases: readonly { readonly name: string; readonly steps: readonly ToeStep[] }[];
}
interface CreateFileInput {
    readonly path: string;
    readonly content: string;
    readonly permissions: string;
    readonly owner: string;
    readonly group: string;
}

/** Inside the instance: where the runner stages scripts and file contents (removed with the build's sanitising). */
export const TOE_WORK_DIR = "var/lib/apx-boot-test-awstoe";

const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

export async function runToeDocument(instance: Instance, text: string, phases: readonly string[]): Promise<void> {
    const document = YAML.parse(text) as ToeDocument;
    const work = path.join(instance.dir, "root", TOE_WORK_DIR);
    fs.mkdirSync(work, { recursive: true, mode: 0o700 });
    for (const phaseName of phases) {
        const phase = document.phases.find((p) => p.name === phaseName);
        if (!phase) continue;
        for (const step of phase.steps) {
            const where = `${document.name} ${phase.name}/${step.name}`;
            switch (step.action) {
                case "ExecuteBash": {
                    const commands = (step.inputs as { commands: string[] }).commands;
                    const script = `${phase.name}-${step.name}.sh`;
                    fs.writeFileSync(path.join(work, script), `${commands.join("\n")}\n`, { mode: 0o700 });
                    const result = instance.tryExec(`cd /${TOE_WORK_DIR} && bash ./${script}`, 1_500_000);
                    if (!result.ok) throw new Error(`AWSTOE step ${where} failed:\n${result.out.slice(-4000)}`);
                    break;
                }
                case "CreateFile": {
                    (step.inputs as CreateFileInput[]).forEach((input, i) => {
                        const staged = `${phase.name}-${step.name}-${i}`;
                        fs.writeFileSync(path.join(work, staged), input.content, { mode: 0o600 });
                        const result = instance.tryExec([
                            `test -d "$(dirname ${quote(input.path)})" || { echo "parent directory of ${input.path} does not exist"; exit 1; }`,
                            `install -m ${quote(input.permissions)} -o ${quote(input.owner)} -g ${quote(input.group)} /${TOE_WORK_DIR}/${staged} ${quote(input.path)}`,
                        ].join("\n"));
                        if (!result.ok) throw new Error(`AWSTOE step ${where} (${input.path}) failed:\n${result.out.slice(-2000)}`);
                    });
                    break;
                }
                default:
                    throw new Error(`AWSTOE step ${where}: action ${step.action} is not one this runner executes`);
            }
        }
    }
}
