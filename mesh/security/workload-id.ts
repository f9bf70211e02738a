// Workload identities: SPIFFE IDs of the one form Weft issues and accepts,
// `spiffe://<trust domain>/svc/<service>`, parsed strictly (no normalisation, no percent-encoding, no
// query, fragment, user info or port) so that one identity has exactly one spelling.

/** A workload identity, e.g. `spiffe://weft.local/svc/orders`. */
export interface WorkloadId {
  /** The whole URI, the identity's one spelling. */
  readonly uri: string;
  /** The trust domain, e.g. "weft.local". */
  readonly trustDomain: string;
  /** The service name, e.g. "orders". */
  readonly service: string;
}

/** SPIFFE trust domains: lower-case letters, digits, dots, dashes and underscores. */
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
/** Service names Weft issues: a lower-case DNS label. */
const SERVICE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** True when `name` is a valid trust domain. */
export function isTrustDomain(name: string): boolean {
  return TRUST_DOMAIN.test(name) && !name.startsWith(".") && !name.endsWith(".") && !name.includes("..");
}

/** True when `name` is a valid service name for an identity. */
export function isServiceName(name: string): boolean {
  return SERVICE.test(name);
}

/** The identity of `service` in `trustDomain`. Throws TypeError for a name that is not allowed. */
export function workloadId(trustDomain: string, service: string): WorkloadId {
  if (!isTrustDomain(trustDomain)) throw new TypeError(`trust domain ${JSON.stringify(trustDomain)} must be lower-case letters, digits, dots, dashes or underscores`);
  if (!isServiceName(service)) throw new TypeError(`service name ${JSON.stringify(service)} must be a lower-case DNS label`);
  return Object.freeze({ uri: `spiffe://${trustDomain}/svc/${service}`, trustDomain, service });
}

/**
 * Parses a URI as a Weft workload identity; undefined unless it is exactly
 * `spiffe://<trust domain>/svc/<service>` with both parts valid (anything else: another scheme, more
 * path, a query, a comma, a space, upper case, percent-encoding).
 */
export function parseWorkloadId(uri: string): WorkloadId | undefined {
  const prefix = "spiffe://";
  if (!uri.startsWith(prefix)) return undefined;
  const rest = uri.slice(prefix.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return undefined;
  const trustDomain = rest.slice(0, slash);
  const path = rest.slice(slash);
  if (!isTrustDomain(trustDomain) || !path.startsWith("/svc/")) return undefined;
  const service = path.slice("/svc/".length);
  if (!isServiceName(service)) return undefined;
  return Object.freeze({ uri, trustDomain, service });
}
