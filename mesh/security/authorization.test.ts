// Policies compiled against real descriptors, end-user credentials checked against jose (an independent
// JWT implementation), and the decisions of the authorization hooks on a real host's in-process calls.

import { X509Certificate } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import * as jose from "jose";
import { describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { AdminService } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { createHost, silentLogger } from "../host/index.ts";
import {
  compilePolicies,
  createAuthorization,
  createEndUserSigner,
  createEndUserVerifier,
  END_USER_HEADER,
  issueCertificate,
  issueDevelopmentCredentials,
  parsePolicy,
  peerIdentityOf,
  PolicyError,
  requireEndUser,
  type PolicyDocument,
} from "./index.ts";

const TD = "weft.local";
const uri = (s: string) => `spiffe://${TD}/svc/${s}`;
const T = TestService.typeName;
const doc = (workload: string, serves: string[], rules: unknown[]): PolicyDocument => parsePolicy({ workload, serves, rules }, `${workload}.json`);
const policies = [
  parsePolicy({ workload: "ops", serves: [], rules: [], admin: "read" }, "ops.json"),
  doc("edge", [], []),
  doc("worker", [], []),
  doc("test", [T], [
    { effect: "deny", methods: [`${T}/UnimplementedCall`], callers: ["anyone"] },
    { effect: "allow", methods: [`${T}/*`], callers: ["edge"] },
    { effect: "allow", methods: [`${T}/EmptyCall`], callers: ["anyone"] },
    { effect: "allow", methods: [`${T}/CacheableUnaryCall`], callers: ["worker"], endUser: "required" },
  ]),
];
const compile = (docs: PolicyDocument[]) => compilePolicies(docs, { trustDomain: TD, services: [TestService] });

describe("compilePolicies", () => {
  it("rejects unknown services, methods, callers and fields, naming the entry", () => {
    const bad: Array<[() => unknown, RegExp]> = [
      [() => compile([doc("test", ["weft.testing.v1.NoSuchService"], [])]), /serves unknown service "weft.testing.v1.NoSuchService"/],
      [() => compile([doc("test", [T], [{ effect: "allow", methods: [`${T}/NoSuchCall`], callers: ["anyone"] }])]), /rules\[0\]: unknown method "weft.testing.v1.TestService\/NoSuchCall"/],
      [() => compile([doc("test", [T], [{ effect: "allow", methods: [`${T}/EmptyCall`], callers: ["nobody"] }])]), /unknown caller "nobody"/],
      [() => compile([doc("a", [T], []), doc("b", [T], [])]), /already served by a/],
      [() => compile([doc("a", [], [{ effect: "allow", methods: [`${T}/EmptyCall`], callers: ["anyone"] }])]), /not served by a/],
      [() => parsePolicy({ workload: "a", serves: [T], rules: [{ effect: "alow", methods: ["x"], callers: ["anyone"] }] }, "a.json"), /a.json: rules\[0\].effect/],
      [() => parsePolicy({ workload: "a", serves: [T], rules: [], extra: 1 }, "a.json"), /unknown field "extra"/],
      [() => parsePolicy({ workload: "a", serves: [], rules: [], admin: "write" }, "a.json"), /a.json: admin may only be "read"/],
    ];
    for (const [fn, message] of bad) {
      expect(fn).toThrow(PolicyError);
      expect(fn).toThrow(message);
    }
  });

  it("knows who serves what and which workloads are public", () => {
    const table = compile(policies);
    expect(table.serverOf(T)?.uri).toBe(uri("test"));
    expect(table.isPublic("test")).toBe(true);
    expect(table.isPublic("edge")).toBe(false);
    expect(table.callableBy("worker").sort()).toEqual([`/${T}/CacheableUnaryCall`, `/${T}/EmptyCall`]);
    // DENY wins: the edge may call every method but the denied one.
    expect(table.callableBy("edge")).toContain(`/${T}/UnaryCall`);
    expect(table.callableBy("edge")).not.toContain(`/${T}/UnimplementedCall`);
  });
});

describe("end-user credentials", () => {
  const dev = issueDevelopmentCredentials({ trustDomain: TD, services: ["ops", "edge", "worker", "test"] });
  const edge = dev.workloads.get("edge")!;
  const verifier = createEndUserVerifier(() => edge.cas, TD);
  const signer = createEndUserSigner(() => edge);

  it("are ES256 JWTs that jose verifies, and jose's tokens verify here", async () => {
    const token = signer.credential("user-7", uri("test"));
    const { payload, protectedHeader } = await jose.jwtVerify(token, edge.leaf.publicKey, { algorithms: ["ES256"], audience: uri("test"), issuer: uri("edge") });
    expect(payload.sub).toBe("user-7");
    expect(payload.exp! - payload.iat!).toBe(60);
    expect(protectedHeader.x5c).toEqual([edge.leaf.raw.toString("base64")]);
    const fromJose = await new jose.SignJWT({ sub: "user-8", aud: uri("test"), iss: uri("edge") })
      .setProtectedHeader({ alg: "ES256", x5c: [edge.leaf.raw.toString("base64")] })
      .setIssuedAt()
      .setExpirationTime("30s")
      .sign(await jose.importPKCS8(edge.keyPem, "ES256"));
    expect(verifier.verify(fromJose, uri("edge"), uri("test"))).toEqual({ userId: "user-8", issuer: uri("edge") });
  });

  it("are refused from another issuer, for another audience, unsigned, expired or signed outside the trust bundle", async () => {
    const token = signer.credential("user-7", uri("test"));
    expect(verifier.verify(token, uri("edge"), uri("test"))).toEqual({ userId: "user-7", issuer: uri("edge") });
    expect(verifier.verify(token, uri("worker"), uri("test"))).toBe("wrong-issuer");
    expect(verifier.verify(signer.credential("user-7", uri("worker")), uri("edge"), uri("test"))).toBe("wrong-audience");
    const [h, p] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, "base64url").toString()), sub: "admin" })).toString("base64url");
    expect(verifier.verify(`${h}.${forged}.${token.split(".")[2]}`, uri("edge"), uri("test"))).toBe("bad-signature");
    const none = Buffer.from(JSON.stringify({ alg: "none", x5c: [edge.leaf.raw.toString("base64")] })).toString("base64url");
    expect(verifier.verify(`${none}.${p}.`, uri("edge"), uri("test"))).toBe("bad-header");
    const key = await jose.importPKCS8(edge.keyPem, "ES256");
    const x5c = [edge.leaf.raw.toString("base64")];
    const old = await new jose.SignJWT({ sub: "u", aud: uri("test"), iss: uri("edge") }).setProtectedHeader({ alg: "ES256", x5c }).setIssuedAt(Math.floor(Date.now() / 1000) - 600).setExpirationTime(Math.floor(Date.now() / 1000) - 540).sign(key);
    expect(verifier.verify(old, uri("edge"), uri("test"))).toBe("expired");
    const stranger = issueDevelopmentCredentials({ trustDomain: TD, services: ["edge"] }).workloads.get("edge")!;
    expect(verifier.verify(createEndUserSigner(() => stranger).credential("u", uri("test")), uri("edge"), uri("test"))).toBe("untrusted-signer");
    const selfSigned = issueCertificate({ commonName: "edge", uris: [uri("edge")] });
    expect(new X509Certificate(selfSigned.certPem).ca).toBe(false);
  });
});

describe("authorization hooks on a host", async () => {
  const dev = issueDevelopmentCredentials({ trustDomain: TD, services: ["ops", "edge", "worker", "test"] });
  const table = compile(policies);
  const authorization = createAuthorization({ table, verifier: createEndUserVerifier(() => dev.workloads.get("edge")!.cas, TD) });
  let handled = 0;
  const seen: Array<{ peer: string | undefined; user: string | undefined }> = [];
  const host = createHost({ port: 0, tuneGc: false, logger: silentLogger, callHooks: [authorization.hooks], guardAdmin: authorization.guardAdmin });
  host.register(TestService, {
    emptyCall(_req, ctx) {
      handled++;
      seen.push({ peer: peerIdentityOf(ctx), user: undefined });
      return {};
    },
    unaryCall(_req, ctx) {
      handled++;
      seen.push({ peer: peerIdentityOf(ctx), user: undefined });
      return {};
    },
    cacheableUnaryCall(_req, ctx) {
      handled++;
      seen.push({ peer: peerIdentityOf(ctx), user: requireEndUser(ctx).userId });
      return {};
    },
    unimplementedCall() {
      handled++;
      return {};
    },
  });
  const as = (workload?: string) => createClient(TestService, host.inProcessTransport({ peerIdentity: workload === undefined ? undefined : uri(workload) }));
  const code = (p: Promise<unknown>) => p.then(() => Code[0], (e: unknown) => Code[ConnectError.from(e).code]);

  it("allows what a rule allows, with the caller in a context value", async () => {
    seen.length = 0;
    await as("edge").unaryCall({});
    await as().emptyCall({});
    expect(seen).toEqual([{ peer: uri("edge"), user: undefined }, { peer: undefined, user: undefined }]);
  });

  it("refuses before the handler: unknown caller PERMISSION_DENIED, anonymous UNAUTHENTICATED, DENY before ALLOW", async () => {
    const before = handled;
    const deniedBefore = authorization.denied;
    expect(await code(as("worker").unaryCall({}))).toBe("PermissionDenied");
    expect(await code(as().unaryCall({}))).toBe("Unauthenticated");
    expect(await code(as("edge").unimplementedCall({}))).toBe("PermissionDenied");
    expect(handled).toBe(before);
    expect(authorization.denied - deniedBefore).toBe(3);
  });

  it("requires an end-user credential signed by the caller itself for this workload", async () => {
    const before = handled;
    const worker = dev.workloads.get("worker")!;
    const edgeSigned = createEndUserSigner(() => dev.workloads.get("edge")!);
    expect(await code(as("worker").cacheableUnaryCall({}))).toBe("Unauthenticated");
    // A credential the edge signed, replayed by the worker: refused (the issuer must be the caller).
    expect(await code(as("worker").cacheableUnaryCall({}, { headers: { [END_USER_HEADER]: edgeSigned.credential("u1", uri("test")) } }))).toBe("Unauthenticated");
    expect(handled).toBe(before);
    const own = createEndUserSigner(() => worker).credential("u1", uri("test"));
    await as("worker").cacheableUnaryCall({}, { headers: { [END_USER_HEADER]: own } });
    expect(seen.at(-1)).toEqual({ peer: uri("worker"), user: "u1" });
  });

  it("guards the host's AdminService: anonymous callers are refused, other workloads denied, admin readers served", async () => {
    const admin = (peer?: string) => createClient(AdminService, host.inProcessTransport({ peerIdentity: peer }));
    expect(await code(admin().getStatus({}))).toBe("Unauthenticated");
    // The edge (where the shop's users come in) and other workloads: not operators.
    expect(await code(admin(uri("edge")).getStatus({}))).toBe("PermissionDenied");
    expect(await code(admin(uri("worker")).getStatus({}))).toBe("PermissionDenied");
    expect((await admin(uri("ops")).getStatus({})).services.map((s) => s.name)).toEqual([T]);
  });
});
