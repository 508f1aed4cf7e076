/**
 * Pure nginx renderer: NginxSpec -> the HostFiles of /etc/nginx (nginx.conf + apiproxy/*.conf).
 * No Pulumi, no environment, no I/O. Throws NginxSpecError on a weak or invalid spec.
 */
import { hostFile, type HostFile } from "../core/host-file";
import { nginxLayout } from "./layout";
import { renderApiKeyAuth } from "./render-api-key";
import { renderErrors } from "./render-errors";
import { renderGrpcHeaders, renderProxyHeaders, renderSecurityHeaders } from "./render-headers";
import { renderRateLimits, renderRequestLimits } from "./render-limits";
import { renderLogging } from "./render-logging";
import { renderMainConf } from "./render-main";
import { renderRouteMaps, renderRoutes } from "./render-routes";
import { renderServers } from "./render-servers";
import { renderOpensslConf, renderTls } from "./render-tls";
import { renderValidationModule } from "./render-validation";
import { renderUpstreams } from "./render-upstreams";
import type { NginxSpec } from "./types";
import { validateNginxSpec } from "./validate";

export function renderNginx(spec: NginxSpec): HostFile[] {
    validateNginxSpec(spec);
    const layout = nginxLayout(spec);
    const files: [string, string][] = [
        [layout.mainConf, renderMainConf(spec, layout)],
        [layout.logging, renderLogging(spec)],
        [layout.tls, renderTls(spec)],
        [layout.requestLimits, renderRequestLimits(spec)],
        [layout.rateLimits, renderRateLimits(spec)],
        [layout.upstreams, renderUpstreams(spec)],
        [layout.routeMaps, renderRouteMaps(spec)],
        [layout.securityHeaders, renderSecurityHeaders(spec)],
        [layout.proxyHeaders, renderProxyHeaders(spec)],
        [layout.grpcHeaders, renderGrpcHeaders(spec)],
        [layout.errors, renderErrors()],
        [layout.apiKeyAuth, renderApiKeyAuth(spec)],
        [layout.routes("public"), renderRoutes(spec, layout, "public")],
        [layout.routes("mtls"), renderRoutes(spec, layout, "mtls")],
        [layout.servers, renderServers(spec, layout)],
    ];
    const opensslConf = renderOpensslConf(spec);
    if (opensslConf !== undefined) files.push([layout.opensslConf, opensslConf]);
    const validationModule = renderValidationModule(spec);
    if (validationModule !== undefined) files.push([layout.validationModule, validationModule]);
    return files.map(([path, content]) =>
        hostFile({ path, content, mode: "0644", owner: "root", group: "root", action: "nginx-reload" }),
    );
}

export * from "./constants";
export type * from "./types";
export { nginxLayout, type NginxLayout } from "./layout";
export { workerSizing, type WorkerSizing } from "./render-main";
export { NginxSpecError, validateNginxSpec } from "./validate";
export { hasSslConfCommand } from "./render-tls";
export { ACCESS_LOG_FIELDS } from "./render-logging";
export { HIDDEN_UPSTREAM_HEADERS } from "./render-headers";
export { ERROR_PAGES } from "./render-errors";
export { API_KEY_AUTH_LOCATION } from "./render-api-key";
export { PER_IP_ZONE, CONN_PER_IP_ZONE, routeZone } from "./render-limits";
export { poolUpstreamName } from "./render-upstreams";
