import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK } from "jose";

/** The one signature algorithm of access tokens: ECDSA P-256 with SHA-256. Verifiers accept no other. */
export const TOKEN_ALGORITHM = "ES256";

/** Most keys a set may hold (the signing key and the ones kept for tokens signed before a rotation). */
export const MAX_SIGNING_KEYS = 8;

/** Identity's token keys: the private key that signs now, and the public half of every key that still verifies. */
export interface SigningKeys {
  /** Key id (`kid`) of the signing key: its RFC 7638 thumbprint unless configured. */
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** The public keys as a JWKS (RFC 7517), signing key first: what the gateway serves at /.well-known/jwks.json. */
  readonly jwks: JSONWebKeySet;
}

/** A bad signing-key setting; the message names IDENTITY_SIGNING_KEYS. */
export class SigningKeysError extends TypeError {
  override name = "SigningKeysError";
}

/** A new P-256 key pair for this process, with its thumbprint as key id. */
export async function generateSigningKeys(): Promise<SigningKeys> {
  const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey: privateKey as CryptoKey, jwks: { keys: [publicJwk({ ...jwk, kid })] } };
}

/** The private JWKS to put in IDENTITY_SIGNING_KEYS: one new key, or `previous` keys kept after it (a rotation). */
export async function newSigningKeysSetting(previous?: string): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
  const kept = previous === undefined ? [] : (JSON.parse(previous) as JSONWebKeySet).keys;
  return JSON.stringify({ keys: [{ ...jwk, kid, alg: TOKEN_ALGORITHM }, ...kept].slice(0, MAX_SIGNING_KEYS) });
}

/**
 * Reads IDENTITY_SIGNING_KEYS: a JWKS of private EC P-256 keys (`{"keys":[{"kty":"EC","crv":"P-256","kid",...,"d":...}]}`);
 * the first signs, every one verifies (keep the old key second for a token lifetime after a rotation).
 * Unset: a new key for this process (tokens then die with it), and `generated` says so.
 */
export async function parseSigningKeys(value: string | undefined): Promise<{ keys: SigningKeys; generated: boolean }> {
  if (value === undefined || value.trim() === "") return { keys: await generateSigningKeys(), generated: true };
  const fail = (what: string) =>
    new SigningKeysError(`IDENTITY_SIGNING_KEYS ${what}, set IDENTITY_SIGNING_KEYS to a JWKS of EC P-256 private keys such as the output of: npm run --silent keys:signing`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw fail("is not JSON");
  }
  const keys = (parsed as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_SIGNING_KEYS) throw fail(`must be {"keys": [...]} with 1 to ${MAX_SIGNING_KEYS} keys`);
  const publicKeys: JWK[] = [];
  let signing: { kid: string; privateKey: CryptoKey } | undefined;
  for (const [i, key] of (keys as JWK[]).entries()) {
    if (key?.kty !== "EC" || key.crv !== "P-256" || typeof key.d !== "string" || typeof key.x !== "string" || typeof key.y !== "string") {
      throw fail(`key ${i} is not an EC P-256 private key (kty "EC", crv "P-256", x, y, d)`);
    }
    const kid = typeof key.kid === "string" && key.kid !== "" ? key.kid : await calculateJwkThumbprint(key);
    if (publicKeys.some((k) => k.kid === kid)) throw fail(`has two keys with kid ${JSON.stringify(kid)}`);
    let privateKey: CryptoKey;
    try {
      privateKey = (await importJWK({ ...key, alg: TOKEN_ALGORITHM }, TOKEN_ALGORITHM)) as CryptoKey;
    } catch {
      throw fail(`key ${i} does not import as an ES256 key`);
    }
    signing ??= { kid, privateKey };
    publicKeys.push(publicJwk({ ...key, kid }));
  }
  return { keys: { ...signing!, jwks: { keys: publicKeys } }, generated: false };
}

/** The public members of an EC key, marked for ES256 signatures. */
function publicJwk(key: JWK): JWK {
  return { kty: key.kty, crv: key.crv, x: key.x, y: key.y, kid: key.kid, alg: TOKEN_ALGORITHM, use: "sig" };
}
