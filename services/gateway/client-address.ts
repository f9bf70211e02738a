// Which address a call came from. Behind a load balancer or reverse proxy every TCP connection comes from
// the proxy, so per-address limits (rate limits, failed sign-ins) would put every user in one bucket. Proxies
// the operator names (GATEWAY_TRUSTED_PROXIES) are believed about the address they saw: X-Forwarded-For is
// read from the right, and its first address that is not a trusted proxy is the client. Entries left of that
// one came from the client itself and are never believed.

import { BlockList, isIP } from "node:net";

/** The address of a call's client (or undefined when the transport knows none: in-process, NATS). */
export type ClientAddressOf = (call: { readonly peerAddress?: string | undefined; readonly requestHeader: Headers }) => string | undefined;

/** The environment variable, with its --help line. */
export const GATEWAY_TRUSTED_PROXIES_VARIABLE = {
  name: "GATEWAY_TRUSTED_PROXIES",
  defaultText: "none (X-Forwarded-For is ignored)",
  description: "addresses or CIDR ranges of the proxies in front of the gateway (e.g. 10.0.0.0/8,127.0.0.1); their X-Forwarded-For names the client for per-address limits",
} as const;

/** An IPv4 address that arrived as IPv6 (`::ffff:10.0.0.1`) is the IPv4 address. */
function plain(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** The socket's own address, whatever the headers say: the rule when no proxy is trusted. */
export const peerAddressOf: ClientAddressOf = (call) => (call.peerAddress === undefined ? undefined : plain(call.peerAddress));

/**
 * Reads GATEWAY_TRUSTED_PROXIES: a comma-separated list of IPv4/IPv6 addresses and CIDR ranges; undefined
 * when it is empty. Throws a TypeError naming the first entry that is neither.
 */
export function readTrustedProxies(value: string | undefined): BlockList | undefined {
  const entries = (value ?? "").split(",").map((e) => e.trim()).filter((e) => e !== "");
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = "", prefix, extra] = entry.split("/");
    const family = isIP(address);
    const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
    const maxBits = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || !Number.isInteger(bits) || bits < 0 || bits > maxBits || prefix === "") {
      throw new TypeError(`GATEWAY_TRUSTED_PROXIES has ${JSON.stringify(entry)}, which is not an IP address or a CIDR range (e.g. 10.0.0.0/8, 127.0.0.1, fd00::/8)`);
    }
    list.addSubnet(address, bits, family === 6 ? "ipv6" : "ipv4");
  }
  return list;
}

/** Most X-Forwarded-For entries looked at: a chain of trusted proxies longer than this is not a deployment. */
const MAX_HOPS = 16;

/**
 * The client address rule: the socket's address, unless it belongs to a trusted proxy; then the rightmost
 * X-Forwarded-For entry that is not a trusted proxy (the address the outermost trusted proxy saw). A
 * malformed entry there means the proxy chain is not what the operator said: the socket's address is used.
 */
export function clientAddressOf(trusted: BlockList | undefined): ClientAddressOf {
  if (trusted === undefined) return peerAddressOf;
  const isTrusted = (address: string) => trusted.check(address, isIP(address) === 6 ? "ipv6" : "ipv4");
  return (call) => {
    const peer = peerAddressOf(call);
    if (peer === undefined || !isTrusted(peer)) return peer;
    const hops = (call.requestHeader.get("x-forwarded-for") ?? "").split(",").map((h) => h.trim()).filter((h) => h !== "");
    let client = peer;
    for (let i = hops.length - 1; i >= 0 && hops.length - i <= MAX_HOPS; i--) {
      const hop = plain(hops[i]!);
      if (isIP(hop) === 0) return peer;
      client = hop;
      if (!isTrusted(hop)) return hop;
    }
    // Every hop was a trusted proxy (or there were none): the farthest one seen.
    return client;
  };
}
