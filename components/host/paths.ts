/**
 * Where nginx keeps its state on every supported OS. The nginx renderer must agree:
 * `pid ${NGINX_PID_PATH};` (the master runs unprivileged and can only write its
 * RuntimeDirectory) and logs under NGINX_LOG_DIR.
 */
export const NGINX_BINARY = "/usr/sbin/nginx";
export const NGINX_CONFIG_DIR = "/etc/nginx";
/** Log directory; on hosts with a log volume it is a bind mount of <mountPoint>/nginx. */
export const NGINX_LOG_DIR = "/var/log/nginx";
/** Temp/cache paths (client bodies, proxy buffers); systemd StateDirectory=nginx. */
export const NGINX_STATE_DIR = "/var/lib/nginx";
/** systemd RuntimeDirectory=nginx, owned by the proxy user. */
export const NGINX_RUNTIME_DIR = "/run/nginx";
export const NGINX_PID_PATH = `${NGINX_RUNTIME_DIR}/nginx.pid`;
