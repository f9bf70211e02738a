// Issue 12, users and credentials, against real servers: two in-process shops (gateway replicas) sharing
// the sign-in lockout and the browser sessions through the real Redis, called over HTTP as a browser
// (Origin, Connect protocol header, cookies) and as an API client (bearer tokens, the gateway's JWKS).
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { Redis } from "ioredis";
import { redisClientOptions, slotPrefix } from "../../mesh/redis/index.ts";
import { freePort } from "../support/free-port.ts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSessionStore, createSignInThrottle, JWKS_PATH, type SignInThrottle } from "../../services/gateway/index.ts";
import { sessionCookie, sessionIdOf } from "../../services/gateway/browser-edge.ts";
import type { InProcessShop } from "../../services/in-process-shop.ts";
import { startTestShop, uniqueEmail } from "../shop/shop-fixture.ts";
import { connectRedis, createTestPrefixes } from "../support/shop/test-redis.ts";
import { TEST_PASSWORD_PARAMS } from "../support/shop/router-shop.ts";

const prefixes = createTestPrefixes("edge");
let redis: Redis;
let replicas: InProcessShop[];
let sharedPrefix: string;
const PASSWORD = "edge-pass-1234";

beforeAll(async () => {
  redis = await connectRedis();
  const keyPrefix = (sharedPrefix = prefixes.next());
  // Both replicas share one Redis prefix (sessions, lockout); each has its own users and keys: sign up and in on the first.
  replicas = await Promise.all(
    [0, 1].map(() =>
      startTestShop({
        passwordParams: TEST_PASSWORD_PARAMS,
        edge: { sessions: createSessionStore({ redis, keyPrefix }), signInThrottle: createSignInThrottle({ redis, keyPrefix }) },
      }),
    ),
  );
});
afterAll(async () => {
  for (const shop of replicas ?? []) await shop.close();
  await prefixes.cleanup(redis);
  await redis?.quit();
});

/** Every test call comes from 127.0.0.1, which the lockout also counts: each test starts that address afresh. */
beforeEach(async () => {
  const keys = await redis.keys(`${slotPrefix(`${sharedPrefix}sign-in:`)}address:*`);
  if (keys.length > 0) await redis.del(...keys);
});

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly body: Record<string, any>;
  readonly headers: Headers;
}

/** One Connect JSON call; `browser` adds what Chromium sends (Origin, Fetch Metadata, the protocol header). */
async function call(shop: InProcessShop, method: string, body: object, init: { browser?: boolean; cookie?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { "content-type": "application/json", ...init.headers };
  if (init.browser) Object.assign(headers, { origin: shop.url, "sec-fetch-site": "same-origin", "connect-protocol-version": "1" }, init.headers);
  if (init.cookie) headers.cookie = init.cookie;
  const response = await fetch(`${shop.url}/shop.gateway.v1.GatewayService/${method}`, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text), headers: response.headers };
}

/** The `name=value` of a response's set-cookie, for sending back. */
function cookieOf(reply: Reply): string {
  const setCookie = reply.headers.getSetCookie();
  expect(setCookie, reply.text).toHaveLength(1);
  return setCookie[0].split(";")[0];
}

/** The retry delay, in seconds, of a Connect JSON error's google.rpc.RetryInfo detail. */
function retryDelaySeconds(body: Record<string, any>): number | undefined {
  const detail = (body.details ?? []).find((d: { type: string }) => d.type === "google.rpc.RetryInfo");
  if (detail === undefined) return undefined;
  const reader = new BinaryReader(Buffer.from(detail.value, "base64"));
  reader.tag(); // retry_delay (1, length-delimited)
  const duration = new BinaryReader(reader.bytes());
  duration.tag(); // seconds (1, varint)
  return Number(duration.int64());
}

describe("sign-in lockout (Redis, shared by gateway replicas)", () => {
  it("answers an unknown email and a wrong password identically (status, code, message, bytes)", async () => {
    const email = uniqueEmail("same-answer");
    expect((await call(replicas[0], "SignUp", { email, password: PASSWORD, displayName: "Same" })).status).toBe(200);
    const wrong = await call(replicas[0], "SignIn", { email, password: "not-the-password" });
    const unknown = await call(replicas[0], "SignIn", { email: uniqueEmail("nobody"), password: "not-the-password" });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ code: "unauthenticated", message: "email or password is incorrect" });
    expect(unknown.text).toBe(wrong.text);
    expect(unknown.status).toBe(wrong.status);
    expect((await call(replicas[0], "SignIn", { email, password: PASSWORD })).status).toBe(200); // gives the address its attempts back
    // A malformed sign-in is refused by identity's checks and not counted: 6 in a row stay INVALID_ARGUMENT.
    for (let i = 0; i < 6; i++) expect((await call(replicas[0], "SignIn", { email, password: "" })).body.code).toBe("invalid_argument");
  });

  it("locks an account after 5 failures across both replicas: the 6th (even with the right password) is RESOURCE_EXHAUSTED with a RetryInfo", async () => {
    const email = uniqueEmail("locked");
    expect((await call(replicas[0], "SignUp", { email, password: PASSWORD, displayName: "Locked" })).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const failed = await call(replicas[i % 2], "SignIn", { email, password: `wrong-${i}` });
      expect(failed.body.code, `failure ${i + 1}`).toBe("unauthenticated");
    }
    for (const password of ["wrong-6", PASSWORD]) {
      const locked = await call(replicas[1], "SignIn", { email, password });
      expect(locked.status).toBe(429);
      expect(locked.body.code).toBe("resource_exhausted");
      expect(locked.body.message).toMatch(/^too many failed sign-ins for this account or address; try again in \d+ s$/);
      const delay = retryDelaySeconds(locked.body)!;
      expect(delay).toBeGreaterThan(800);
      expect(delay).toBeLessThanOrEqual(900);
      expect(locked.body.message).toContain(`in ${delay} s`);
    }
    // Every counter has a TTL no longer than the window.
    const keys = await redis.keys(`${slotPrefix(`${sharedPrefix}sign-in:`)}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      const ttl = await redis.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(900_000);
    }
    // The address is locked too (5 failures from 127.0.0.1): another account from it is refused until the window ends.
    expect((await call(replicas[0], "SignIn", { email: uniqueEmail("bystander"), password: "whatever-1" })).body.code).toBe("resource_exhausted");
  });
});

describe("sign-in while the lockout's Redis is down", () => {
  it("fails closed: UNAVAILABLE even for the right password", async () => {
    const dead = new Redis(`redis://127.0.0.1:${await freePort()}`, { ...redisClientOptions, lazyConnect: true });
    dead.on("error", () => {});
    const shop = await startTestShop({ passwordParams: TEST_PASSWORD_PARAMS, edge: { signInThrottle: createSignInThrottle({ redis: dead, keyPrefix: prefixes.next() }) } });
    try {
      const email = uniqueEmail("outage");
      expect((await call(shop, "SignUp", { email, password: PASSWORD, displayName: "Outage" })).status).toBe(200);
      const refused = await call(shop, "SignIn", { email, password: PASSWORD });
      expect(refused.body).toEqual({ code: "unavailable", message: "sign-in throttle is unavailable" });
    } finally {
      await shop.close();
      dead.disconnect();
    }
  });
});

describe.each([
  { name: "Redis", make: () => createSignInThrottle({ redis, keyPrefix: prefixes.next() }) },
  { name: "memory", make: () => createSignInThrottle() },
])("sign-in throttle ($name)", ({ make }) => {
  let throttle: SignInThrottle;
  beforeAll(() => {
    throttle = make();
  });

  it("locks one account after 5 failures from 5 addresses, and not another account", async () => {
    for (let i = 0; i < 5; i++) expect(await throttle.begin("Victim@Example.com", `10.0.0.${i}`)).toBe(0);
    expect(await throttle.begin(" victim@example.com", "10.0.0.99")).toBeGreaterThan(890_000);
    expect(await throttle.begin("other@example.com", "10.0.0.98")).toBe(0);
  });

  it("locks one address after 5 failures on 5 accounts, and not another address; a success gives an attempt back", async () => {
    for (let i = 0; i < 5; i++) expect(await throttle.begin(`user${i}@example.com`, "192.0.2.1")).toBe(0);
    expect(await throttle.begin("user9@example.com", "192.0.2.1")).toBeGreaterThan(0);
    expect(await throttle.begin("user9@example.com", "192.0.2.2")).toBe(0);
    await throttle.succeeded("user9@example.com", "192.0.2.2");
    for (let i = 0; i < 4; i++) expect(await throttle.begin(`fresh${i}@example.com`, "192.0.2.3")).toBe(0);
    await throttle.succeeded("fresh0@example.com", "192.0.2.3");
    expect(await throttle.begin("fresh4@example.com", "192.0.2.3")).toBe(0); // 4 - 1 + 1 = 4 < 5
    expect(await throttle.begin("fresh5@example.com", "192.0.2.3")).toBe(0);
    expect(await throttle.begin("fresh6@example.com", "192.0.2.3")).toBeGreaterThan(0);
  });

  it("gives an abandoned attempt (not a wrong password) back to both counters", async () => {
    for (let i = 0; i < 5; i++) {
      expect(await throttle.begin("outage@example.com", "203.0.113.1")).toBe(0);
      await throttle.abandoned("outage@example.com", "203.0.113.1");
    }
    expect(await throttle.begin("outage@example.com", "203.0.113.1")).toBe(0);
  });

  it("counts concurrent guesses: of 20 at once, exactly 5 go ahead", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => throttle.begin("burst@example.com", `198.51.100.${i}`)));
    expect(results.filter((wait) => wait === 0)).toHaveLength(5);
  });
});

describe("browser sessions (Redis, shared by gateway replicas)", () => {
  it("sets an HttpOnly SameSite=Lax __Host- cookie for a browser on loopback, no token; revocation and rotation hold on every replica", async () => {
    const email = uniqueEmail("session");
    const signUp = await call(replicas[0], "SignUp", { email, password: PASSWORD, displayName: "Session" }, { browser: true });
    expect(signUp.status, signUp.text).toBe(200);
    expect(signUp.body.accessToken ?? "").toBe("");
    const [setCookie] = signUp.headers.getSetCookie();
    expect(setCookie).toMatch(/^__Host-weft_session=[\w-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Lax; Secure$/);
    const first = cookieOf(signUp);
    // The other replica knows the session: sessions live in Redis.
    expect((await call(replicas[1], "ListMyOrders", {}, { browser: true, cookie: first })).status).toBe(200);

    // Signing in again rotates the id: the old cookie is dead at once, on every replica.
    const signIn = await call(replicas[0], "SignIn", { email, password: PASSWORD }, { browser: true, cookie: first });
    const second = cookieOf(signIn);
    expect(second).not.toBe(first);
    for (const shop of replicas) expect((await call(shop, "ListMyOrders", {}, { browser: true, cookie: first })).body.code).toBe("unauthenticated");
    expect((await call(replicas[0], "ListMyOrders", {}, { browser: true, cookie: second })).status).toBe(200);

    // Sign-out revokes it for the very next call, on the other replica too, and clears the cookie.
    const signOut = await call(replicas[0], "SignOut", {}, { browser: true, cookie: second });
    expect(signOut.headers.getSetCookie()).toEqual(["__Host-weft_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure"]);
    const after = await call(replicas[1], "ListMyOrders", {}, { browser: true, cookie: second });
    expect(after.body).toEqual({ code: "unauthenticated", message: "session ended (signed out or expired): sign in again" });
    // Redis holds a digest of the id, never the id itself.
    expect(await redis.keys(`*${second.split("=")[1]}*`)).toEqual([]);
  });

  it("ends a session after its idle time and after its absolute lifetime, even when used", async () => {
    // Idle 1 s (a used session survives stalls of a loaded machine), absolute 2.5 s.
    const idlePrefix = prefixes.next();
    const store = createSessionStore({ redis, keyPrefix: idlePrefix, idleMs: 1_000, absoluteMs: 2_500 });
    const idle = await store.create("u-idle");
    expect(await store.resolve(idle)).toBe("u-idle");
    // Left alone (no resolve, which would slide it), Redis drops it at the idle expiry, not the absolute one.
    const key = `${idlePrefix}session:${createHash("sha256").update(idle).digest("base64url")}`;
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_000);
    await expect.poll(() => redis.exists(key), { timeout: 5_000, interval: 100 }).toBe(0);
    expect(await store.resolve(idle)).toBeUndefined();
    const busy = await store.create("u-busy");
    const started = Date.now();
    let last: string | undefined = "u-busy";
    while (last !== undefined && Date.now() - started < 6_000) {
      last = await store.resolve(busy); // used every 100 ms: idle expiry keeps sliding
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(last).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_400);
  });

  it("picks the cookie by what the browser sees: __Host- and Secure for an HTTPS page (e.g. behind a TLS proxy), a plain name for plain HTTP to a non-loopback host", async () => {
    const email = uniqueEmail("proxy");
    await call(replicas[0], "SignUp", { email, password: PASSWORD, displayName: "Proxy" });
    const signInAs = (host: string, origin: string) =>
      new Promise<string[]>((resolve, reject) => {
        const { port } = new URL(replicas[0].url);
        const body = JSON.stringify({ email, password: PASSWORD });
        const req = httpRequest({ host: "127.0.0.1", port, method: "POST", path: "/shop.gateway.v1.GatewayService/SignIn", headers: { host, origin, "content-type": "application/json", "connect-protocol-version": "1" } }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.headers["set-cookie"] ?? []));
        });
        req.on("error", reject);
        req.end(body);
      });
    expect((await signInAs("shop.example", "https://shop.example"))[0]).toMatch(/^__Host-weft_session=[\w-]{43}; .*; Secure$/);
    expect((await signInAs("shop.example:8080", "http://shop.example:8080"))[0]).toMatch(/^weft_session=[\w-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Lax$/);
  });

  it("names the cookie without __Host- and Secure only for plain HTTP to a non-loopback host", () => {
    expect(sessionCookie("abc", 60, false)).toBe("weft_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
    expect(sessionIdOf(new Headers({ cookie: "a=1; weft_session=abc; __Host-weft_session=def" }), false)).toBe("abc");
    expect(sessionIdOf(new Headers({ cookie: "a=1; weft_session=abc; __Host-weft_session=def" }), true)).toBe("def");
  });
});

describe("browser requests and API clients", () => {
  it("refuses a browser's POST without connect-protocol-version, and serves it with the header", async () => {
    const bare = await call(replicas[0], "Browse", { pageSize: 1 }, { headers: { origin: replicas[0].url } });
    expect(bare.status).toBe(400);
    expect(bare.body).toEqual({ code: "invalid_argument", message: "browsers must send connect-protocol-version: 1 (use a Connect client)" });
    expect((await call(replicas[0], "Browse", { pageSize: 1 }, { browser: true })).status).toBe(200);
    expect((await call(replicas[0], "Browse", { pageSize: 1 })).status).toBe(200); // API clients need not send it
  });

  it("serves Connect GET only for NO_SIDE_EFFECTS methods: never a sign-in, sign-up, sign-out or checkout", async () => {
    const get = (method: string, message: object, headers: Record<string, string> = {}) =>
      fetch(`${replicas[0].url}/shop.gateway.v1.GatewayService/${method}?connect=v1&encoding=json&message=${encodeURIComponent(JSON.stringify(message))}`, { headers });
    expect((await get("Browse", { pageSize: 1 }, { origin: replicas[0].url, "sec-fetch-site": "same-origin" })).status).toBe(200);
    for (const method of ["SignIn", "SignUp", "SignOut", "Checkout"]) {
      const response = await get(method, { email: "a@b.co", password: "x" });
      expect(response.status, method).toBe(405);
      expect(response.headers.get("allow")).toBe("POST");
    }
  });

  it("gives API clients a bearer token that verifies against the gateway's JWKS (ES256, at+jwt), and no cookie", async () => {
    const email = uniqueEmail("api");
    await call(replicas[0], "SignUp", { email, password: PASSWORD, displayName: "Api" });
    const signIn = await call(replicas[0], "SignIn", { email, password: PASSWORD });
    expect(signIn.headers.getSetCookie()).toEqual([]);
    const token = signIn.body.accessToken as string;
    const jwks = await fetch(`${replicas[0].url}${JWKS_PATH}`);
    expect(jwks.headers.get("content-type")).toBe("application/jwk-set+json");
    expect(jwks.headers.get("cache-control")).toBe("public, max-age=300");
    const { keys } = (await jwks.json()) as { keys: Array<Record<string, string>> };
    expect(keys.every((k) => k.kty === "EC" && k.alg === "ES256" && k.d === undefined)).toBe(true);
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(`${replicas[0].url}${JWKS_PATH}`)), {
      algorithms: ["ES256"],
      issuer: "weft-shop-identity",
      audience: "weft-shop",
      typ: "at+jwt",
    });
    expect(protectedHeader.kid).toBe(keys[0].kid);
    expect(payload.sub).toBe(signIn.body.user.id);
    expect((await call(replicas[0], "ListMyOrders", {}, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    // The other replica has its own identity keys: its gateway refuses the token (kid unknown there).
    expect((await call(replicas[1], "ListMyOrders", {}, { headers: { authorization: `Bearer ${token}` } })).body.code).toBe("unauthenticated");
  });

  it("lets an allowed origin send credentials (CORS), never a stranger", async () => {
    const allowed = "https://shop.example";
    const shop = await startTestShop({ corsAllowedOrigins: [allowed], passwordParams: TEST_PASSWORD_PARAMS });
    try {
      const preflight = (origin: string) =>
        fetch(`${shop.url}/shop.gateway.v1.GatewayService/SignIn`, {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,connect-protocol-version" },
        });
      const ok = await preflight(allowed);
      expect(ok.status).toBe(204);
      expect(ok.headers.get("access-control-allow-origin")).toBe(allowed);
      expect(ok.headers.get("access-control-allow-credentials")).toBe("true");
      const stranger = await preflight("https://evil.example");
      expect(stranger.status).toBe(403);
      expect(stranger.headers.get("access-control-allow-origin")).toBeNull();
      expect(stranger.headers.get("access-control-allow-credentials")).toBeNull();
    } finally {
      await shop.close();
    }
  });
});
