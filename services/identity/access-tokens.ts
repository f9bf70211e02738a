import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";

/** Options of {@link createAccessTokens}. */
export interface AccessTokensOptions {
  /** HMAC-SHA256 key, at least 32 bytes. Required (see {@link parseTokenSecret}). */
  readonly secret: Uint8Array;
  /** `iss` claim. Default "weft-shop-identity". */
  readonly issuer?: string;
  /** `aud` claim. Default "weft-shop". */
  readonly audience?: string;
  /** Lifetime of a token, in seconds. Default 3600. */
  readonly ttlSeconds?: number;
  /** Current time (tests move it). Default `() => new Date()`. */
  readonly now?: () => Date;
}

/** A signed access token and when it stops being valid. */
export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

/** Signs and checks end-user access tokens (JWT, HS256). */
export interface AccessTokens {
  /** Issues a token whose subject is `userId`. */
  sign(userId: string): Promise<IssuedToken>;
  /** Returns the token's user id; UNAUTHENTICATED when it is malformed, forged, expired or for another audience. */
  verify(token: string): Promise<string>;
}

/** Smallest accepted HMAC key, in bytes (RFC 7518: the key must be at least the hash size). */
export const MIN_SECRET_BYTES = 32;

/** Builds the token signer; throws at start-up on a bad option, naming it. */
export function createAccessTokens(options: AccessTokensOptions): AccessTokens {
  const { secret } = options;
  if (!(secret instanceof Uint8Array) || secret.length < MIN_SECRET_BYTES) {
    throw new TypeError(`options.secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  const issuer = options.issuer ?? "weft-shop-identity";
  const audience = options.audience ?? "weft-shop";
  const ttlSeconds = options.ttlSeconds ?? 3600;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new TypeError("options.ttlSeconds must be a positive integer");
  const now = options.now ?? (() => new Date());

  return {
    async sign(userId) {
      const issuedAt = Math.floor(now().getTime() / 1000);
      const expiresAt = issuedAt + ttlSeconds;
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(userId)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(secret);
      return { token, expiresAt: new Date(expiresAt * 1000) };
    },

    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, secret, {
          algorithms: ["HS256"],
          issuer,
          audience,
          currentDate: now(),
          requiredClaims: ["sub", "exp"],
        });
        if (typeof payload.sub !== "string" || payload.sub === "") throw new joseErrors.JWTInvalid("no subject");
        return payload.sub;
      } catch (cause) {
        const expired = cause instanceof joseErrors.JWTExpired;
        // The cause stays on the error for the server's logs; the caller only learns that the token is no good.
        throw new ConnectError(expired ? "access token expired" : "access token is not valid", Code.Unauthenticated, undefined, undefined, cause);
      }
    },
  };
}

/**
 * Reads the signing key from configuration (e.g. `IDENTITY_TOKEN_SECRET`): base64url of at least 32
 * bytes. When unset, generates a random key for this process (tokens then die with it), and says so.
 */
export function parseTokenSecret(value: string | undefined): { secret: Uint8Array; generated: boolean } {
  if (value === undefined || value === "") return { secret: new Uint8Array(randomBytes(MIN_SECRET_BYTES)), generated: true };
  const secret = new Uint8Array(Buffer.from(value, "base64url"));
  if (secret.length < MIN_SECRET_BYTES) {
    throw new TypeError(
      `IDENTITY_TOKEN_SECRET must be base64url of at least ${MIN_SECRET_BYTES} bytes, set IDENTITY_TOKEN_SECRET to one such as the output of: node -p "crypto.randomBytes(32).toString('base64url')"`,
    );
  }
  return { secret, generated: false };
}

/** Extracts the token of an `authorization: Bearer <token>` header; UNAUTHENTICATED when absent or malformed. */
export function bearerToken(headers: Headers): string {
  const value = headers.get("authorization");
  if (value === null || value === "") throw new ConnectError("missing authorization: Bearer <token> header", Code.Unauthenticated);
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  if (!match) throw new ConnectError("authorization header must be Bearer <token>", Code.Unauthenticated);
  return match[1];
}
