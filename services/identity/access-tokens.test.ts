import { createHmac } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { bearerToken, createAccessTokens } from "./access-tokens.ts";
import { generateSigningKeys, newSigningKeysSetting, parseSigningKeys } from "./signing-keys.ts";
import { createTokenVerifier } from "./token-verifier.ts";

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

const keys = await generateSigningKeys();
const tokens = createAccessTokens({ keys, ttlSeconds: 60 });
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const claims = () => {
  const iat = Math.floor(Date.now() / 1000);
  return { sub: "admin", iss: "weft-shop-identity", aud: "weft-shop", iat, exp: iat + 60 };
};
/** A token signed with the real private key but with the given header and claims changed. */
const signedWith = (header: Record<string, unknown>, payload: Record<string, unknown>) =>
  new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid: keys.kid, typ: "at+jwt", ...header } as { alg: string }).sign(keys.privateKey);

describe("access tokens (ES256 with key ids)", () => {
  it("signs an ES256 at+jwt naming its key, whose subject verifies back to the user id", async () => {
    const issued = await tokens.sign("user-1");
    const header = JSON.parse(Buffer.from(issued.token.split(".")[0], "base64url").toString());
    expect(header).toEqual({ alg: "ES256", typ: "at+jwt", kid: keys.kid });
    expect(issued.expiresAt.getTime() - Date.now()).toBeGreaterThan(55_000);
    expect(await tokens.verify(issued.token)).toBe("user-1");
    expect(keys.jwks.keys).toEqual([expect.objectContaining({ kty: "EC", crv: "P-256", kid: keys.kid, alg: "ES256", use: "sig" })]);
    expect(keys.jwks.keys[0]).not.toHaveProperty("d");
  });

  it("refuses forgeries: alg none, HS256 keyed with the public key, another key, wrong iss/aud/typ, unknown kid, tampering", async () => {
    const { token } = await tokens.sign("user-1");
    const [header, payload, signature] = token.split(".");
    const publicPem = await exportSPKI(await importJWK(keys.jwks.keys[0], "ES256") as CryptoKey);
    const hs256 = (key: string | Buffer) => {
      const h = b64({ alg: "HS256", typ: "at+jwt", kid: keys.kid });
      const p = b64(claims());
      return `${h}.${p}.${createHmac("sha256", key).update(`${h}.${p}`).digest("base64url")}`;
    };
    const stranger = await generateKeyPair("ES256");
    const forgeries: Record<string, string> = {
      "alg none": new UnsecuredJWT(claims()).encode(),
      "alg none with kid": `${b64({ alg: "none", typ: "at+jwt", kid: keys.kid })}.${b64(claims())}.`,
      "HS256 keyed with the public key (PEM)": hs256(publicPem),
      "HS256 keyed with the public JWK": hs256(JSON.stringify(keys.jwks.keys[0])),
      "another key under the real kid": await new SignJWT(claims()).setProtectedHeader({ alg: "ES256", kid: keys.kid, typ: "at+jwt" }).sign(stranger.privateKey),
      "wrong issuer": await signedWith({}, { ...claims(), iss: "someone-else" }),
      "wrong audience": await signedWith({}, { ...claims(), aud: "another-api" }),
      "typ JWT": await signedWith({ typ: "JWT" }, claims()),
      "no typ": await signedWith({ typ: undefined }, claims()),
      "unknown kid": await signedWith({ kid: "no-such-key" }, claims()),
      "no subject": await signedWith({}, { ...claims(), sub: undefined }),
      "tampered subject": `${header}.${b64({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), sub: "admin" })}.${signature}`,
      garbage: "garbage",
    };
    for (const [name, forged] of Object.entries(forgeries)) {
      const err = await failure(tokens.verify(forged));
      expect(Code[err.code], name).toBe("Unauthenticated");
      expect(err.rawMessage, name).toBe("access token is not valid");
    }
  });

  it("refuses expired tokens beyond a 30 s clock tolerance, and accepts them within it", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const clocked = createAccessTokens({ keys, ttlSeconds: 60, now: () => now });
    const { token } = await clocked.sign("user-1");
    now = new Date("2026-01-01T00:01:20Z");
    expect(await clocked.verify(token)).toBe("user-1");
    now = new Date("2026-01-01T00:01:31Z");
    const expired = await failure(clocked.verify(token));
    expect(expired.code).toBe(Code.Unauthenticated);
    expect(expired.rawMessage).toBe("access token expired");
  });

  it("picks up a rotated-in key by refetching the JWKS on an unknown kid, at most once per cooldown", async () => {
    const rotated = await parseSigningKeys(await newSigningKeysSetting(undefined));
    let published = keys.jwks;
    let fetches = 0;
    const verifier = createTokenVerifier({ jwks: async () => (fetches++, published), refreshCooldownMs: 0 });
    expect(await verifier.verify((await tokens.sign("u-old")).token)).toBe("u-old");
    const fresh = createAccessTokens({ keys: rotated.keys });
    const newToken = (await fresh.sign("u-new")).token;
    expect((await failure(verifier.verify(newToken))).code).toBe(Code.Unauthenticated); // not published yet
    published = { keys: [...rotated.keys.jwks.keys, ...keys.jwks.keys] };
    expect(await verifier.verify(newToken)).toBe("u-new");
    expect(await verifier.verify((await tokens.sign("u-old")).token)).toBe("u-old");
    expect(await verifier.jwks()).toEqual(published);
    const before = fetches;
    const slow = createTokenVerifier({ jwks: async () => (fetches++, keys.jwks), refreshCooldownMs: 60_000 });
    await slow.verify((await tokens.sign("u")).token);
    for (let i = 0; i < 5; i++) await failure(slow.verify(await signedWith({ kid: `forged-${i}` }, claims())));
    expect(fetches - before).toBe(1); // forged kids inside the cooldown cause no fetch
  });

  it("reads IDENTITY_SIGNING_KEYS (first key signs, all verify), generates a key when unset, and names the variable when bad", async () => {
    const setting = await newSigningKeysSetting(await newSigningKeysSetting(undefined));
    const parsed = await parseSigningKeys(setting);
    expect(parsed.generated).toBe(false);
    expect(parsed.keys.jwks.keys).toHaveLength(2);
    expect(parsed.keys.kid).toBe(JSON.parse(setting).keys[0].kid);
    expect((await parseSigningKeys(undefined)).generated).toBe(true);
    const publicOnly = JSON.stringify({ keys: [await exportJWK((await generateKeyPair("ES256")).publicKey)] });
    for (const bad of ["{", "{}", '{"keys":[]}', publicOnly, '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}']) {
      await expect(parseSigningKeys(bad), bad).rejects.toThrow(/^IDENTITY_SIGNING_KEYS .*set IDENTITY_SIGNING_KEYS to/);
    }
  });

  it("extracts a bearer token, UNAUTHENTICATED when absent or not Bearer", () => {
    expect(bearerToken(new Headers({ authorization: "Bearer abc.def.ghi" }))).toBe("abc.def.ghi");
    expect(bearerToken(new Headers({ authorization: "bearer   xyz" }))).toBe("xyz");
    for (const headers of [new Headers(), new Headers({ authorization: "Basic Zm9vOmJhcg==" }), new Headers({ authorization: "Bearer" })]) {
      let code: Code | undefined;
      try {
        bearerToken(headers);
      } catch (err) {
        code = (err as ConnectError).code;
      }
      expect(code).toBe(Code.Unauthenticated);
    }
  });
});
