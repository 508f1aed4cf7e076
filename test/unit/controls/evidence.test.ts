/**
 * `npm run evidence`: the report's rows and totals follow the catalogue and the stack (a missing
 * line, a failing policy or a failed live check each cost exactly their column), and the HTML
 * page renders in a real headless browser (Debian's chromium-headless-shell) with one row per
 * catalogue entry and totals, recounted in the page, equal to the JSON.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CONTROLS } from "../../../components/core/controls";
import { buildEvidence, renderHtml, renderMarkdown, type EvidenceInput } from "../../../infra/evidence/report";
import { loadStackFile } from "../../../infra/config/load";
import { runReview } from "../../../infra/review/run";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const BROWSER = "/usr/bin/chromium-headless-shell";
let input: EvidenceInput;

before(async () => {
    const tier = loadStackFile(path.join(ROOT, "stacks", "Pulumi.prod.yaml"));
    const review = await runReview("prod", tier);
    const verdicts: Record<string, "pass" | "fail"> = {};
    for (const v of review.verdicts) verdicts[v.policy] = verdicts[v.policy] === "fail" || v.status === "fail" ? "fail" : "pass";
    input = { stack: "prod", target: "aws", generatedAt: "2026-12-02T00:00:00Z", hostFiles: review.hostFiles, resources: review.resources.filter((r) => r.custom), verdicts };
});

describe("the evidence report", () => {
    test("prod offline: every control provisioned and enforced, none verified live (nothing runs)", () => {
        const evidence = buildEvidence(input);
        assert.equal(evidence.rows.length, CONTROLS.length);
        assert.deepEqual(evidence.totals, { controls: CONTROLS.length, provisioned: CONTROLS.length, enforced: CONTROLS.length, verified: 0 });
        const row = evidence.rows.find((r) => r.id === "tls-versions")!;
        assert.match(row.provisioned[0].where, /^proxy-[ab]:\/etc\/nginx\/apiproxy\/tls\.conf:\d+$/);
        assert.ok(row.sources.some((s) => s.endsWith("(unverified)")), "unchecked sources say so");
    });
    test("on the local and inventory targets, AWS resource controls have nothing to provision (n/a), the rest still must be found", () => {
        const evidence = buildEvidence({ ...input, target: "local", resources: [] });
        const imds = evidence.rows.find((r) => r.id === "imdsv2")!;
        assert.match(imds.provisioned[0].notApplicable ?? "", /an AWS resource; this stack's target is local/);
        assert.equal(imds.columns.provisioned, true);
        const certificates = evidence.rows.find((r) => r.id === "tls-certificate-validity")!;
        assert.equal(certificates.columns.provisioned, false, "the PKI's resources exist on every target: missing is missing");
    });
    test("a missing line, a failing policy, a failed live check each cost their column", () => {
        const hostFiles = Object.fromEntries(Object.entries(input.hostFiles).map(([h, files]) =>
            [h, files.map((f) => (f.path === "/etc/nftables.conf" ? { ...f, content: "" } : f))]));
        const evidence = buildEvidence({
            ...input, hostFiles, verdicts: { ...input.verdicts, "nginx-tls-ciphers": "fail" },
            liveChecks: { "tls-handshake": { status: "pass", at: "t" }, "response-headers": { status: "fail", at: "t" } },
        });
        const byId = Object.fromEntries(evidence.rows.map((r) => [r.id, r.columns]));
        assert.equal(byId["host-firewall-default-deny"].provisioned, false);
        assert.equal(byId["tls-suites"].enforced, false);
        assert.equal(byId["tls-versions"].verified, true);
        assert.equal(byId["security-headers"].verified, false);
        assert.equal(evidence.totals.provisioned, CONTROLS.length - 1);
        assert.equal(evidence.totals.enforced, CONTROLS.length - 1);
        assert.equal(evidence.totals.verified, CONTROLS.filter((c) => "check" in c.verifiedBy && c.verifiedBy.check === "tls-handshake").length);
        assert.match(renderMarkdown(evidence), /MISSING \/etc\/nftables\.conf/);
    });
    test("the HTML page renders in a real browser: one row per control, totals recounted in the page equal the JSON", { skip: !fs.existsSync(BROWSER) && `needs ${BROWSER} (scripts/install-deps.sh installs chromium-headless-shell)` }, () => {
        const evidence = buildEvidence({ ...input, liveChecks: { "tls-handshake": { status: "pass", at: "t" } } });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-evidence-"));
        try {
            const page = path.join(dir, "prod.html");
            fs.writeFileSync(page, renderHtml(evidence));
            const args = ["--no-sandbox", "--disable-gpu", `--user-data-dir=${path.join(dir, "profile")}`];
            const dom = spawnSync(BROWSER, [...args, "--dump-dom", `file://${page}`], { encoding: "utf8", timeout: 60_000 });
            assert.equal(dom.status, 0, dom.stderr);
            assert.equal((dom.stdout.match(/<tr data-control="/g) ?? []).length, CONTROLS.length);
            const computed = /<p id="computed"([^>]*)>/.exec(dom.stdout)?.[1] ?? "";
            const attr = (name: string) => Number(new RegExp(`data-${name}="(\\d+)"`).exec(computed)?.[1]);
            assert.deepEqual({ controls: attr("controls"), provisioned: attr("provisioned"), enforced: attr("enforced"), verified: attr("verified") }, evidence.totals,
                "the totals the browser counted from the rows equal the JSON's");
            assert.match(dom.stdout, new RegExp(`<span id="total-verified">${evidence.totals.verified}</span>`));
            const shot = path.join(dir, "prod.png");
            const screenshot = spawnSync(BROWSER, [...args, `--screenshot=${shot}`, "--window-size=1400,1600", `file://${page}`], { encoding: "utf8", timeout: 60_000 });
            assert.equal(screenshot.status, 0, screenshot.stderr);
            assert.ok(fs.statSync(shot).size > 20_000, "a rendered page, not a blank one");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
