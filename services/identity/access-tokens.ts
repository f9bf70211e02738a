import { Code, ConnectError } from "@connectrpc/connect";
import { SignJWT } from "jose";
import { type SigningKeys, TOKEN_ALGORITHM } from "./signing-keys.ts";
import { ACCESS_TOKEN_TYPE, createTokenVerifier, TOKEN_AUDIENCE, TOKEN_ISSUER } from "./token-verifier.ts";

/** Options of {@link createAccessTokens}. */
export interface AccessTokensOptions {
  /** The signing key and the public keys that verify (see {@link parseSigningKeys}). Required. */
  readonly keys: SigningKeys;
  /** `iss` claim. Default "weft-shop-identity". */
  readonly issuer?: string;
  /** `aud` claim. Default "weft-shop". */
  readonly audience?: string;
  /** Lifetime of a token, in seconds. Default 900 (15 minutes: a bearer token cannot be revoked). */
  readonly ttlSeconds?: number;
  /** Current time (tests move it). Default `() => new Date()`. */
  readonly now?: () => Date;
}

/** A signed access token and when it stops being valid. */
export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

/** Signs and checks end-user access tokens (JWT, ES256, `typ` at+jwt, with the signing key's `kid`). */
export interface AccessTokens {
  /** Issues a token whose subject is `userId`. */
  sign(userId: string): Promise<IssuedToken>;
  /** Returns the token's user id; UNAUTHENTICATED when it is malformed, forged, expired or for another audience. */
  verify(token: string): Promise<string>;
  /** The public keys (JWKS) tokens are verified with. */
  readonly jwks: SigningKeys["jwks"];
}

/** Builds the token signer; throws at start-up on a bad option, naming it. */
export function createAccessTokens(options: AccessTokensOptions): AccessTokens {
  const { keys } = options;
  if (keys?.privateKey === undefined || typeof keys.kid !== "string") throw new TypeError("options.keys must be SigningKeys (parseSigningKeys)");
  const issuer = options.issuer ?? TOKEN_ISSUER;
  const audience = options.audience ?? TOKEN_AUDIENCE;
  const ttlSeconds = options.ttlSeconds ?? 900;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new TypeError("options.ttlSeconds must be a positive integer");
  const now = options.now ?? (() => new Date());
  const verifier = createTokenVerifier({ jwks: async () => keys.jwks, issuer, audience, now, maxKeyAgeMs: Number.MAX_SAFE_INTEGER });

  return {
    jwks: keys.jwks,
    async sign(userId) {
      const issuedAt = Math.floor(now().getTime() / 1000);
      const expiresAt = issuedAt + ttlSeconds;
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid: keys.kid })
        .setSubject(userId)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(keys.privateKey);
      return { token, expiresAt: new Date(expiresAt * 1000) };
    },
    verify: (token) => verifier.verify(token),
  };
}

/** Extracts the token of an `authorization: Bearer <token>` header; UNAUTHENTICATED when absent or malformed. */
export function bearerToken(headers: Headers): string {
  const value = headers.get("authorization");
  if (value === null || value === "") throw new ConnectError("missing authorization: Bearer <token> header", Code.Unauthenticated);
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  if (!match) throw new ConnectError("authorization header must be Bearer <token>", Code.Unauthenticated);
  return match[1];
}
