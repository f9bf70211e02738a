import { randomBytes, randomUUID, scryptSync } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { type Client, Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentityService, UserSchema } from "../../gen/shop/identity/v1/identity_pb.ts";
import { type ComputePool, createInlineComputePool } from "../../mesh/compute/index.ts";
import { rejection, TEST_PASSWORD_PARAMS } from "../../test/support/shop/router-shop.ts";
import { storeKinds } from "../../test/support/shop/store-kinds.ts";
import { connectRedis } from "../../test/support/shop/test-redis.ts";
import { createAccessTokens } from "./access-tokens.ts";
import { generateSigningKeys } from "./signing-keys.ts";
import type { UserDirectory } from "./user-directory.ts";
import { createIdentityService } from "./identity-service.ts";
import { violationsOf } from "../../test/support/violations.ts";

const inline = createInlineComputePool();
const tasks: Array<{ name: string; input: unknown }> = [];
/** Records every task so the test can check that hashing runs on the pool. */
const compute: ComputePool = {
  run: (moduleUrl, name, input, options) => (tasks.push({ name, input }), inline.run(moduleUrl, name, input, options)),
  close: () => inline.close(),
};
const tokens = createAccessTokens({ keys: await generateSigningKeys() });
let redis: Redis;
const { directories, cleanup } = storeKinds(() => redis);
beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  await compute.close();
  await cleanup();
  await redis.quit();
});

describe.each(directories)("IdentityService ($name users)", ({ make }) => {
  let client: Client<typeof IdentityService>;
  let users: UserDirectory;
  beforeAll(() => {
    users = make();
    const impl = createIdentityService({ compute, tokens, users, passwordParams: TEST_PASSWORD_PARAMS });
    client = createClient(IdentityService, createRouterTransport((router) => router.service(IdentityService, impl)));
  });

  it("registers, logs in with a signed token and answers WhoAmI from the bearer header", async () => {
    // The contract refuses an address with blanks around it (string.email); case is still normalised.
    const { user, accessToken } = await client.register({ email: "Ada@Example.com", password: "analytical-engine", displayName: "Ada" });
    expect(user?.email).toBe("ada@example.com");
    expect(await tokens.verify(accessToken)).toBe(user?.id); // Register signs the new user in
    expect(user?.id).toMatch(/^[0-9a-f-]{36}$/);
    const login = await client.login({ email: "ADA@example.com", password: "analytical-engine" });
    expect(login.user?.id).toBe(user?.id);
    expect(await tokens.verify(login.accessToken)).toBe(user?.id);
    expect(timestampDate(login.expiresAt!).getTime()).toBeGreaterThan(Date.now());
    const me = await client.whoAmI({}, { headers: { authorization: `Bearer ${login.accessToken}` } });
    expect(me.user?.email).toBe("ada@example.com");
  });

  it("hashes on the compute pool and never stores or passes on a readable hash of the password", async () => {
    tasks.length = 0;
    await client.register({ email: "grace@example.com", password: "cobol-1959!", displayName: "Grace" });
    expect(tasks.map((t) => t.name)).toEqual(["hashPassword"]);
    await client.login({ email: "grace@example.com", password: "cobol-1959!" });
    expect(tasks.map((t) => t.name)).toEqual(["hashPassword", "verifyPassword"]);
    const verifyInput = tasks[1].input as { encoded: string };
    expect(verifyInput.encoded).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(verifyInput.encoded).not.toContain("cobol");
  });

  it("verifies an old scrypt hash and replaces it with Argon2id at that sign-in; a wrong password changes nothing", async () => {
    const salt = randomBytes(16);
    const legacy = ["scrypt", 10, 8, 1, salt.toString("base64url"), scryptSync("difference-engine", salt, 32, { N: 1024, r: 8, p: 1 }).toString("base64url")].join("$");
    const user = create(UserSchema, { id: randomUUID(), email: "babbage@example.com", displayName: "Charles" });
    await users.add({ user, passwordHash: legacy });
    expect((await rejection(client.login({ email: "babbage@example.com", password: "difference-engine!" }))).code).toBe(Code.Unauthenticated);
    expect((await users.byId(user.id))?.passwordHash).toBe(legacy);
    const login = await client.login({ email: "babbage@example.com", password: "difference-engine" });
    expect(login.user?.id).toBe(user.id);
    const rehashed = (await users.byId(user.id))!.passwordHash;
    expect(rehashed).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect((await users.byEmail("babbage@example.com"))?.passwordHash).toBe(rehashed);
    expect((await users.byId(user.id))?.user.email).toBe("babbage@example.com");
    tasks.length = 0;
    await client.login({ email: "babbage@example.com", password: "difference-engine" });
    expect(tasks.map((t) => t.name)).toEqual(["verifyPassword"]); // no second rehash
    expect((await users.byId(user.id))!.passwordHash).toBe(rehashed);
  });

  it("serves its public keys (JWKS) for verifiers", async () => {
    const { jwksJson } = await client.getPublicKeys({});
    expect(JSON.parse(jwksJson)).toEqual(tokens.jwks);
  });

  it("validates every field, naming it", async () => {
    // Rules of the contract: answered with the violated field and rule.
    const ruled: Array<[Parameters<typeof client.register>[0], Array<[string, string]>]> = [
      [{ email: "", password: "plank-tide-1", displayName: "A" }, [["email", "string.email_empty"]]],
      [{ email: "not-an-email", password: "plank-tide-1", displayName: "A" }, [["email", "string.email"]]],
      [{ email: `${"a".repeat(250)}@x.io`, password: "plank-tide-1", displayName: "A" }, [["email", "string.max_len"]]],
      [{ email: "a@x.io", password: "", displayName: "A" }, [["password", "not_blank"], ["password", "string.min_len"]]],
      [{ email: "a@x.io", password: "short", displayName: "A" }, [["password", "string.min_len"]]],
      [{ email: "a@x.io", password: "p".repeat(129), displayName: "A" }, [["password", "string.max_len"]]],
      [{ email: "a@x.io", password: " ".repeat(8), displayName: "A" }, [["password", "not_blank"]]],
      [{ email: "a@x.io", password: "\t \u00a0\n    ", displayName: "A" }, [["password", "not_blank"]]],
      [{ email: "a@x.io", password: "plank-tide-1", displayName: "  " }, [["display_name", "not_blank"]]],
      [{ email: "a@x.io", password: "plank-tide-1", displayName: "n".repeat(65) }, [["display_name", "string.max_len"]]],
    ];
    for (const [request, violations] of ruled) {
      const err = await rejection(client.register(request));
      expect(err.code, JSON.stringify(violations)).toBe(Code.InvalidArgument);
      expect(violationsOf(err)).toEqual(violations);
      expect(err.rawMessage).not.toContain(request.password || "\u0000");
    }
    // The blocklist is the service's own check.
    for (const password of ["football", "BaseBall1", "qwertyuiop"]) {
      const err = await rejection(client.register({ email: "a@x.io", password, displayName: "A" }));
      expect([err.code, err.rawMessage]).toEqual([Code.InvalidArgument, "password: is one of the most common passwords; choose another"]);
    }
    expect(violationsOf(await rejection(client.login({ email: "", password: "x" })))).toEqual([["email", "string.email_empty"]]);
    expect(violationsOf(await rejection(client.login({ email: "a@x.io", password: "" })))).toEqual([["password", "string.min_len"]]);
  });

  it("answers ALREADY_EXISTS for a taken email, also when two registrations race", async () => {
    await client.register({ email: "linus@example.com", password: "plank-tide-1", displayName: "L" });
    const again = await rejection(client.register({ email: "LINUS@example.com", password: "plank-tide-2", displayName: "L2" }));
    expect(again.code).toBe(Code.AlreadyExists);
    const racing = await Promise.allSettled(
      Array.from({ length: 8 }, () => client.register({ email: "race@example.com", password: "plank-tide-1", displayName: "R" })),
    );
    expect(racing.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of racing) if (r.status === "rejected") expect(r.reason.code).toBe(Code.AlreadyExists);
  });

  it("answers UNAUTHENTICATED, with one message, for a wrong password and for an unknown email", async () => {
    await client.register({ email: "alan@example.com", password: "enigma-1940", displayName: "Alan" });
    const wrong = await rejection(client.login({ email: "alan@example.com", password: "enigma-1941" }));
    const unknown = await rejection(client.login({ email: "nobody@example.com", password: "enigma-1940" }));
    expect(wrong.code).toBe(Code.Unauthenticated);
    expect(unknown.code).toBe(Code.Unauthenticated);
    expect(unknown.rawMessage).toBe(wrong.rawMessage);
  });

  it("answers WhoAmI with UNAUTHENTICATED without a token, with a bad one, or for an unknown user", async () => {
    expect((await rejection(client.whoAmI({}))).code).toBe(Code.Unauthenticated);
    expect((await rejection(client.whoAmI({}, { headers: { authorization: "Bearer nope" } }))).code).toBe(Code.Unauthenticated);
    const { token } = await tokens.sign("no-such-user");
    const ghost = await rejection(client.whoAmI({}, { headers: { authorization: `Bearer ${token}` } }));
    expect(ghost.code).toBe(Code.Unauthenticated);
  });
});
