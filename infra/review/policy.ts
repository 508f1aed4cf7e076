/**
 * Evaluates the api-proxy-baseline pack against the resources recorded by the mock run: the
 * same policy objects the engine runs with `--policy-pack policy-packs/api-proxy-baseline`, with
 * the stack's own pack configuration (pack-config.ts).
 */
import { evaluatePolicies, type BaselineConfig } from "../../policy-packs/api-proxy-baseline/evaluate";
import type { RecordedResource } from "./mocks";
import type { ReviewVerdict } from "./report";

export async function evaluateForReview(resources: readonly RecordedResource[], config: Partial<BaselineConfig> = {}): Promise<ReviewVerdict[]> {
    const verdicts = await evaluatePolicies(resources.filter((r) => r.custom).map((r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: r.props,
        id: r.id,
        outputs: r.outputs,
    })), config);
    return verdicts.map((v) => ({
        policy: v.policyName,
        enforcementLevel: v.enforcementLevel,
        status: v.status,
        message: v.message,
        resource: v.urn,
    }));
}
