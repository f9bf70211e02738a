import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { bearerToken, createAccessTokens, parseTokenSecret } from "./access-tokens.ts";

const secret = new Uint8Array(randomBytes(32));

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

describe("access tokens", () => {
  it("signs a token whose subject verifies back to the user id", async () => {
    const tokens = createAccessTokens({ secret, ttlSeconds: 60 });
    const issued = await tokens.sign("user-1");
    expect(issued.token.split(".")).toHaveLength(3);
    expect(issued.expiresAt.getTime() - Date.now()).toBeGreaterThan(55_000);
    expect(await tokens.verify(issued.token)).toBe("user-1");
  });

  it("rejects expired, tampered, foreign-key and foreign-audience tokens as UNAUTHENTICATED", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const tokens = createAccessTokens({ secret, ttlSeconds: 60, now: () => now });
    const { token } = await tokens.sign("user-1");
    now = new Date("2026-01-01T00:01:01Z");
    const expired = await failure(tokens.verify(token));
    expect(expired.code).toBe(Code.Unauthenticated);
    expect(expired.rawMessage).toBe("access token expired");
    now = new Date("2026-01-01T00:00:30Z");
    expect(await tokens.verify(token)).toBe("user-1");

    const [header, payload, signature] = token.split(".");
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), sub: "admin" })).toString("base64url");
    expect((await failure(tokens.verify(`${header}.${forgedPayload}.${signature}`))).code).toBe(Code.Unauthenticated);
    expect((await failure(tokens.verify("garbage"))).code).toBe(Code.Unauthenticated);

    const otherKey = createAccessTokens({ secret: new Uint8Array(randomBytes(32)), now: () => now });
    expect((await failure(otherKey.verify(token))).rawMessage).toBe("access token is not valid");
    const otherAudience = createAccessTokens({ secret, audience: "someone-else", now: () => now });
    expect((await failure(otherAudience.verify(token))).code).toBe(Code.Unauthenticated);
  });

  it("refuses short keys, reads keys from config and generates one when unset", () => {
    expect(() => createAccessTokens({ secret: new Uint8Array(16) })).toThrow("options.secret must be at least 32 bytes");
    expect(() => parseTokenSecret("c2hvcnQ")).toThrow(/IDENTITY_TOKEN_SECRET/);
    const configured = parseTokenSecret(Buffer.from(secret).toString("base64url"));
    expect(configured.generated).toBe(false);
    expect(Buffer.from(configured.secret).equals(Buffer.from(secret))).toBe(true);
    const generated = parseTokenSecret(undefined);
    expect(generated.generated).toBe(true);
    expect(generated.secret.length).toBe(32);
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
