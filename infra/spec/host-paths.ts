/**
 * Where things live on a proxy host. One place, so the nginx config, the certificate
 * delivery, the AppArmor/SELinux rules and the systemd unit agree.
 */
import type { CertificatePaths } from "../../components/nginx/types";

/** TLS material: certificates world-readable, the key in a private/ directory (0640 root:proxy). */
export const CERTIFICATE_PATHS: CertificatePaths = {
    serverCertificate: "/etc/ssl/apiproxy/server-chain.pem",
    serverKey: "/etc/ssl/apiproxy/private/server.key",
    clientCa: "/etc/ssl/apiproxy/client-ca.pem",
    upstreamCa: "/etc/ssl/apiproxy/upstream-ca.pem",
};

/** The NVMe instance store is mounted here; <mount>/nginx is bind-mounted onto the log directory (seed: 50 GB NVMe for logging). */
export const LOG_DIRECTORY = "/var/log/nginx";
export const LOG_VOLUME_MOUNT = "/srv/apiproxy-logs";
/** The first local NVMe instance-store device on Nitro instances (EBS volumes come first only by id). */
export const LOG_VOLUME_DEVICE = "/dev/nvme1n1";
/** Under systemd's RuntimeDirectory=nginx, writable by the unprivileged service user. */
export const PID_FILE = "/run/nginx/nginx.pid";
/** Administrators allowed to SSH (key-only); the AWS target uses SSM Session Manager instead. */
export const SSH_ADMIN_USERS: readonly string[] = ["apiproxy-admin"];
