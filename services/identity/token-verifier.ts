import { Code, ConnectError } from "@connectrpc/connect";
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, jwtVerify } from "jose";
import { TOKEN_ALGORITHM } from "./signing-keys.ts";

/** `typ` of access tokens (RFC 9068): a verifier refuses any other JWT, e.g. an ID token of the same issuer. */
export const ACCESS_TOKEN_TYPE = "at+jwt";
/** Default `iss` of access tokens. */
export const TOKEN_ISSUER = "weft-shop-identity";
/** Default `aud` of access tokens. */
export const TOKEN_AUDIENCE = "weft-shop";

/** Options of {@link createTokenVerifier}. */
export interface TokenVerifierOptions {
  /** Fetches the issuer's public keys (identity's GetPublicKeys, or its own set). Required. */
  readonly jwks: (signal?: AbortSignal) => Promise<JSONWebKeySet>;
  /** Expected `iss`. Default {@link TOKEN_ISSUER}. */
  readonly issuer?: string;
  /** Expected `aud`. Default {@link TOKEN_AUDIENCE}. */
  readonly audience?: string;
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds. Default 30. */
  readonly clockToleranceSeconds?: number;
  /** How long fetched keys are used before fetching again, in ms. Default 300,000. */
  readonly maxKeyAgeMs?: number;
  /** Least time between fetches caused by an unknown `kid` (a rotation), in ms. Default 30,000. */
  readonly refreshCooldownMs?: number;
  /** Current time. Default `() => new Date()`. */
  readonly now?: () => Date;
}

/** Checks access tokens against a cached JWKS. */
export interface TokenVerifier {
  /** The token's user id (`sub`); UNAUTHENTICATED when it is malformed, forged, expired, of another type, issuer or audience, or names an unknown key. */
  verify(token: string, signal?: AbortSignal): Promise<string>;
  /** The public keys in use (cached as for verifying): what a JWKS endpoint serves. */
  jwks(signal?: AbortSignal): Promise<JSONWebKeySet>;
}

type KeySet = ReturnType<typeof createLocalJWKSet>;

/**
 * Builds a verifier that accepts exactly ES256 JWTs of type `at+jwt` from `issuer` for `audience`, signed
 * by a key of the JWKS. Keys are cached; an unknown `kid` refetches them (at most once per cooldown), so
 * a rotated-in key is picked up without a restart and a stream of forged kids costs one fetch.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  if (typeof options?.jwks !== "function") throw new TypeError("options.jwks must be a function returning a JWKS");
  const issuer = options.issuer ?? TOKEN_ISSUER;
  const audience = options.audience ?? TOKEN_AUDIENCE;
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const maxKeyAgeMs = options.maxKeyAgeMs ?? 300_000;
  const cooldownMs = options.refreshCooldownMs ?? 30_000;
  const now = options.now ?? (() => new Date());
  for (const [name, value] of [["clockToleranceSeconds", clockTolerance], ["maxKeyAgeMs", maxKeyAgeMs], ["refreshCooldownMs", cooldownMs]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`options.${name} must be a non-negative number`);
  }

  let cached: { set: KeySet; jwks: JSONWebKeySet; fetchedAt: number } | undefined;
  let inflight: Promise<KeySet> | undefined;

  function fetchKeys(signal?: AbortSignal): Promise<KeySet> {
    inflight ??= options
      .jwks(signal)
      .then((jwks) => {
        const set = createLocalJWKSet(jwks);
        cached = { set, jwks, fetchedAt: Date.now() };
        return set;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  async function keys(signal?: AbortSignal): Promise<KeySet> {
    if (cached !== undefined && Date.now() - cached.fetchedAt < maxKeyAgeMs) return cached.set;
    return fetchKeys(signal);
  }

  return {
    async jwks(signal) {
      await keys(signal);
      return cached!.jwks;
    },
    async verify(token, signal) {
      let set: KeySet;
      try {
        set = await keys(signal);
      } catch (cause) {
        throw new ConnectError("token keys are unavailable", Code.Unavailable, undefined, undefined, cause);
      }
      const check = (keySet: KeySet) =>
        jwtVerify(token, keySet, {
          algorithms: [TOKEN_ALGORITHM],
          issuer,
          audience,
          typ: ACCESS_TOKEN_TYPE,
          clockTolerance,
          currentDate: now(),
          requiredClaims: ["sub", "exp", "iat"],
        });
      try {
        let result;
        try {
          result = await check(set);
        } catch (err) {
          if (!(err instanceof joseErrors.JWKSNoMatchingKey) || cached === undefined || Date.now() - cached.fetchedAt < cooldownMs) throw err;
          result = await check(await fetchKeys(signal));
        }
        const sub = result.payload.sub;
        if (typeof sub !== "string" || sub === "") throw new joseErrors.JWTInvalid("no subject");
        return sub;
      } catch (cause) {
        if (cause instanceof ConnectError) throw cause;
        const expired = cause instanceof joseErrors.JWTExpired;
        // The cause stays on the error for the server's logs; the caller only learns that the token is no good.
        throw new ConnectError(expired ? "access token expired" : "access token is not valid", Code.Unauthenticated, undefined, undefined, cause);
      }
    },
  };
}
