// The internal end-user credential: a short-lived JWT (ES256) the edge signs with its own workload key
// for one target workload (`aud`), naming the user (`sub`), with its workload certificate in `x5c` so a
// service can check it chains to the mesh's trust bundle and proves the issuer's identity. Signed and
// verified with node:crypto synchronously, so a call hook can check it without leaving the direct path.

import { createPrivateKey, sign, verify, X509Certificate, type KeyObject } from "node:crypto";
import { certificateIdentity } from "./certificate-identity.ts";
import { chainsTo, type WorkloadCredentials } from "./workload-credentials.ts";

/** The request header carrying the credential. */
export const END_USER_HEADER = "x-weft-end-user";

/** The verified end user of a call. */
export interface EndUser {
  /** The user's id (`sub`). */
  readonly userId: string;
  /** The workload that vouched for the user (`iss`, a SPIFFE URI). */
  readonly issuer: string;
}

/** Default and largest lifetime of a credential, in seconds. */
export const END_USER_TTL_SECONDS = 60;
/** Clock skew tolerated between workloads, in seconds. */
const SKEW_SECONDS = 5;
/** Longest credential accepted, in characters (a leaf in x5c is under 1 KiB). */
const MAX_TOKEN_CHARS = 4096;
const MAX_USER_ID_CHARS = 128;
const CACHE_ENTRIES = 1024;

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

/** Signs end-user credentials as one workload, reusing a token per (user, audience) for half its life. */
export interface EndUserSigner {
  /** The credential for `userId`, for the workload `audience` (a SPIFFE URI). */
  credential(userId: string, audience: string): string;
}

/** A signer with the workload's current credentials (read at each signature, so rotation applies). */
export function createEndUserSigner(current: () => WorkloadCredentials, ttlSeconds = END_USER_TTL_SECONDS): EndUserSigner {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > END_USER_TTL_SECONDS) throw new RangeError(`ttlSeconds must be 1 to ${END_USER_TTL_SECONDS}`);
  const cache = new Map<string, { token: string; renewAt: number }>();
  let keyOf: { pem: string; key: KeyObject; x5c: string } | undefined;
  return {
    credential(userId, audience) {
      const now = Math.floor(Date.now() / 1000);
      const cacheKey = `${audience} ${userId}`;
      const hit = cache.get(cacheKey);
      const creds = current();
      if (hit !== undefined && hit.renewAt > now && keyOf?.pem === creds.keyPem) return hit.token;
      if (keyOf?.pem !== creds.keyPem) keyOf = { pem: creds.keyPem, key: createPrivateKey(creds.keyPem), x5c: creds.leaf.raw.toString("base64") };
      const header = b64url(JSON.stringify({ alg: "ES256", typ: "JWT", x5c: [keyOf.x5c] }));
      const payload = b64url(JSON.stringify({ iss: creds.id.uri, sub: userId, aud: audience, iat: now, exp: now + ttlSeconds }));
      const signature = sign("sha256", Buffer.from(`${header}.${payload}`), { key: keyOf.key, dsaEncoding: "ieee-p1363" });
      const token = `${header}.${payload}.${b64url(signature)}`;
      if (cache.size >= CACHE_ENTRIES) cache.clear();
      cache.set(cacheKey, { token, renewAt: now + Math.floor(ttlSeconds / 2) });
      return token;
    },
  };
}

/** Why a credential was refused. */
export type EndUserRejection = "malformed" | "bad-header" | "untrusted-signer" | "bad-signature" | "wrong-issuer" | "wrong-audience" | "expired" | "bad-subject";

/** Verifies credentials against a trust bundle, caching good tokens until they expire. */
export interface EndUserVerifier {
  /**
   * The end user `token` names, when it is well-formed, signed by a certificate chaining to the bundle
   * that proves `issuer` (the caller's own verified identity), for `audience`, and current.
   */
  verify(token: string, issuer: string, audience: string): EndUser | EndUserRejection;
}

function json(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A verifier for the trust bundle `bundle()` returns (read per new signer certificate, so CA rotation applies). */
export function createEndUserVerifier(bundle: () => readonly X509Certificate[], trustDomain: string): EndUserVerifier {
  const good = new Map<string, { user: EndUser; issuer: string; audience: string; exp: number }>();
  const signers = new Map<string, X509Certificate | undefined>();
  return {
    verify(token, issuer, audience) {
      const now = Math.floor(Date.now() / 1000);
      const cached = good.get(token);
      if (cached !== undefined && cached.exp + SKEW_SECONDS >= now) {
        return cached.issuer === issuer && cached.audience === audience ? cached.user : cached.issuer !== issuer ? "wrong-issuer" : "wrong-audience";
      }
      if (token.length > MAX_TOKEN_CHARS) return "malformed";
      const parts = token.split(".");
      if (parts.length !== 3) return "malformed";
      const header = json(parts[0]);
      const payload = json(parts[1]);
      if (header === undefined || payload === undefined) return "malformed";
      // Only ES256 with exactly the signer's leaf: no "none", no HMAC, no key from elsewhere.
      if (header.alg !== "ES256" || !Array.isArray(header.x5c) || header.x5c.length !== 1 || typeof header.x5c[0] !== "string" || header.crit !== undefined) return "bad-header";
      const x5c = header.x5c[0];
      let signer = signers.get(x5c);
      if (!signers.has(x5c)) {
        try {
          const cert = new X509Certificate(Buffer.from(x5c, "base64"));
          signer = chainsTo(cert, bundle()) ? cert : undefined;
        } catch {
          signer = undefined;
        }
        if (signers.size >= CACHE_ENTRIES) signers.clear();
        signers.set(x5c, signer);
      }
      if (signer === undefined || new Date(signer.validTo).getTime() < Date.now()) return "untrusted-signer";
      const signature = Buffer.from(parts[2], "base64url");
      if (signature.length !== 64 || !verify("sha256", Buffer.from(`${parts[0]}.${parts[1]}`), { key: signer.publicKey, dsaEncoding: "ieee-p1363" }, signature)) return "bad-signature";
      const identity = certificateIdentity(signer, trustDomain);
      if (!identity.ok || payload.iss !== identity.id.uri || identity.id.uri !== issuer) return "wrong-issuer";
      if (payload.aud !== audience) return "wrong-audience";
      const { iat, exp, sub } = payload;
      if (typeof iat !== "number" || typeof exp !== "number" || exp < now - SKEW_SECONDS || iat > now + SKEW_SECONDS || exp - iat > END_USER_TTL_SECONDS) return "expired";
      if (typeof sub !== "string" || sub.length === 0 || sub.length > MAX_USER_ID_CHARS) return "bad-subject";
      const user = Object.freeze({ userId: sub, issuer });
      if (good.size >= CACHE_ENTRIES) good.clear();
      good.set(token, { user, issuer, audience, exp });
      return user;
    },
  };
}
