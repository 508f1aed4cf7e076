/**
 * Path MTU from the client segment to the load balancer: `ping -M do -s 1472` (a 1,500-byte
 * packet that may not be fragmented). Where the path filters ICMP echo - the local fabric's
 * segment rules and an AWS NLB admit the listeners' TCP ports only - a small ping tells that
 * apart from a size problem, and the measurement is taken over TCP instead: a request to the
 * HTTPS listener whose 6 KB header block fills several full-size segments, sent with Don't
 * Fragment (the kernel's PMTU discovery, net.ipv4.ip_no_pmtu_disc = 0), must be answered - nginx
 * answers only once it has read the whole block, and a black hole would stall it - and the kernel
 * must hold no path MTU under 1,500 for the address afterwards (a hop's "fragmentation needed"
 * sets one). The header block is used rather than a body: an early answer can cut a body short.
 */
import { row, type CheckRow, type VerifyContext } from "../types";

const PROBE_PAYLOAD = 1472;
const FULL_PACKET = PROBE_PAYLOAD + 28;
/** Request header padding: several full-size segments, inside one of nginx's 8 KB large header buffers. */
const PADDING_BYTES = 6000;

export function pathMtuRow(ctx: VerifyContext): CheckRow {
    const { dnsName, httpsPort } = ctx.outputs.endpoints;
    const remediation = `a path MTU under ${FULL_PACKET} with ICMP "fragmentation needed" filtered on the way black-holes large TLS records: allow ICMP type 3 code 4 through, or lower the MTU/MSS (ip link set dev <if> mtu N) on the hop that cannot carry ${FULL_PACKET} bytes`;
    const ping = (size: number) => ctx.client.run(["ping", "-n", "-M", "do", "-s", String(size), "-c", "1", "-W", "1", dnsName], { timeoutMs: 5000 });
    const big = ping(PROBE_PAYLOAD);
    if (big.code === 0) {
        return row("path-mtu", ctx.client.label, "pass", `ping -M do -s ${PROBE_PAYLOAD} ${dnsName}: ${FULL_PACKET}-byte packets pass unfragmented`, remediation, { method: "icmp", mtu: FULL_PACKET });
    }
    const tooBig = /message too long|frag needed|mtu = (\d+)/i.exec(`${big.stdout}${big.stderr}`);
    if (tooBig) {
        return row("path-mtu", ctx.client.label, "fail", `ping -M do -s ${PROBE_PAYLOAD} ${dnsName}: ${tooBig[0]} - the path cannot carry ${FULL_PACKET}-byte packets`, remediation, { method: "icmp" });
    }
    const small = ping(56);
    if (small.code === 0) {
        return row("path-mtu", ctx.client.label, "fail", `${dnsName} answers a small ping but not a ${FULL_PACKET}-byte one with Don't Fragment: the path MTU is under ${FULL_PACKET}`, remediation, { method: "icmp" });
    }
    // ICMP echo is filtered on this path: measure over TCP to the listener itself.
    const pmtuDisc = ctx.client.run(["cat", "/proc/sys/net/ipv4/ip_no_pmtu_disc"]).stdout.trim();
    // A request whose header block spans several full-size segments: nginx answers only after reading all of it.
    const post = ctx.client.run([
        "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_request}", "--http1.1", "--max-time", "10",
        "-H", `X-Apiproxy-Verify-Padding: ${"m".repeat(PADDING_BYTES)}`,
        "--cacert", ctx.caFile, "--connect-to", `${ctx.tier.serverName}:${httpsPort}:${dnsName}:${httpsPort}`,
        `https://${ctx.tier.serverName}:${httpsPort}/apiproxy-verify-path-mtu`,
    ], { timeoutMs: 15_000 });
    const route = ctx.client.run(["ip", "-o", "route", "get", dnsName]).stdout.trim();
    const learned = /\bmtu (\d+)/.exec(route)?.[1];
    const device = /\bdev (\S+)/.exec(route)?.[1];
    const linkMtu = device ? ctx.client.run(["cat", `/sys/class/net/${device}/mtu`]).stdout.trim() : "";
    const [status, sent] = post.stdout.trim().split(" ");
    const data = { method: "tcp", status, requestBytes: Number(sent), learnedMtu: learned ? Number(learned) : null, linkMtu: Number(linkMtu), ipNoPmtuDisc: pmtuDisc };
    const why = `ICMP echo to ${dnsName} is filtered on this path (neither a ${FULL_PACKET}-byte nor a small ping answered), so measured over TCP ${httpsPort}`;
    if (pmtuDisc !== "0") return row("path-mtu", ctx.client.label, "fail", `${why}: but net.ipv4.ip_no_pmtu_disc=${pmtuDisc} on the client side, so its segments do not carry Don't Fragment`, remediation, data);
    if (post.code !== 0 || !/^[1-5]\d\d$/.test(status ?? "") || !(Number(sent) > PADDING_BYTES)) {
        return row("path-mtu", ctx.client.label, "fail", `${why}: a ${Number(sent) || PADDING_BYTES}-byte request header block in full-size segments with Don't Fragment got no answer (${post.stderr.trim().split("\n").pop() || `exit ${post.code}`}): a black hole on the path`, remediation, data);
    }
    if (learned && Number(learned) < FULL_PACKET) {
        return row("path-mtu", ctx.client.label, "fail", `${why}: the kernel learned path MTU ${learned} to ${dnsName} (a hop sent "fragmentation needed")`, remediation, data);
    }
    return row("path-mtu", ctx.client.label, "pass",
        `${why}: a ${sent}-byte request header block, sent in full-size segments with Don't Fragment, was read whole and answered (${status}); no path MTU under ${FULL_PACKET} learned for ${dnsName}; client link MTU ${linkMtu || "?"}`, remediation, data);
}
