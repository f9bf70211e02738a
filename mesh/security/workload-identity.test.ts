// Workload identities from certificates, and mutual TLS with real sockets: who gets through the
// handshake, and what identity the server reads.

import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import {
  certificateIdentity,
  createWorkloadTls,
  CredentialsError,
  issueCertificate,
  issueDevelopmentCredentials,
  parseWorkloadId,
  readCredentials,
  validateCredentials,
  writeCredentials,
  type WorkloadTls,
} from "./index.ts";

const TD = "weft.local";
const dev = issueDevelopmentCredentials({ trustDomain: TD, services: ["orders", "gateway", "inventory"] });
const ca = dev.ca;
const leaf = (uris: string[], extra: { isCa?: boolean; notBefore?: Date; notAfter?: Date; issuer?: typeof ca } = {}) =>
  issueCertificate({ commonName: "test", uris, issuer: extra.issuer ?? ca, isCa: extra.isCa, notBefore: extra.notBefore, notAfter: extra.notAfter });
const identityOf = (pem: string) => certificateIdentity(new X509Certificate(pem), TD);

describe("parseWorkloadId", () => {
  it("accepts only spiffe://<trust domain>/svc/<service>", () => {
    expect(parseWorkloadId("spiffe://weft.local/svc/orders")?.service).toBe("orders");
    for (const bad of [
      "https://weft.local/svc/orders",
      "spiffe://weft.local/svc/orders/x",
      "spiffe://weft.local/svc/Orders",
      "spiffe://weft.local/ns/svc/orders",
      "spiffe://weft.local/svc/orders?x=1",
      "spiffe://user@weft.local/svc/orders",
      "spiffe://weft.local:443/svc/orders",
      "spiffe://weft.local/svc/orders, URI:spiffe://weft.local/svc/gateway",
      "spiffe://weft.local/svc/%6frders",
      "spiffe:///svc/orders",
    ]) {
      expect(parseWorkloadId(bad), bad).toBeUndefined();
    }
  });
});

describe("certificateIdentity", () => {
  it("reads the one SPIFFE URI SAN of a leaf", () => {
    const id = identityOf(dev.workloads.get("orders")!.certPem);
    expect(id).toEqual({ ok: true, id: { uri: "spiffe://weft.local/svc/orders", trustDomain: TD, service: "orders" } });
  });

  it("refuses a comma-injected SAN that Node's subjectaltname prints like two names", () => {
    const injected = leaf(["spiffe://weft.local/svc/orders, URI:spiffe://weft.local/svc/gateway"]);
    // What a substring match would have trusted:
    expect(new X509Certificate(injected.certPem).subjectAltName).toContain("URI:spiffe://weft.local/svc/gateway");
    expect(identityOf(injected.certPem)).toEqual({ ok: false, reason: "not-a-workload-id" });
  });

  it("refuses two URI SANs, a CA, another scheme, another trust domain and no URI at all", () => {
    expect(identityOf(leaf(["spiffe://weft.local/svc/orders", "spiffe://weft.local/svc/gateway"]).certPem)).toEqual({ ok: false, reason: "several-uri-sans" });
    expect(identityOf(leaf(["spiffe://weft.local/svc/orders"], { isCa: true }).certPem)).toEqual({ ok: false, reason: "ca-certificate" });
    expect(identityOf(leaf(["https://weft.local/svc/orders"]).certPem)).toEqual({ ok: false, reason: "not-a-workload-id" });
    expect(identityOf(leaf(["spiffe://evil.example/svc/orders"]).certPem)).toEqual({ ok: false, reason: "wrong-trust-domain" });
    expect(identityOf(issueCertificate({ commonName: "x", dnsNames: ["orders"], issuer: ca }).certPem)).toEqual({ ok: false, reason: "no-uri-san" });
  });
});

describe("validateCredentials", () => {
  const orders = dev.workloads.get("orders")!;
  it("refuses a key that is not the certificate's, another CA, an expired leaf and a wrong service", () => {
    const other = issueDevelopmentCredentials({ trustDomain: TD, services: ["orders"] }).workloads.get("orders")!;
    expect(() => validateCredentials({ ...orders, keyPem: other.keyPem }, TD)).toThrow(/does not match/);
    expect(() => validateCredentials({ ...orders, caPem: other.caPem }, TD)).toThrow(/does not chain/);
    const expired = leaf(["spiffe://weft.local/svc/orders"], { notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) });
    expect(() => validateCredentials({ caPem: ca.certPem, ...expired }, TD)).toThrow(/not valid now/);
    expect(() => validateCredentials(orders, TD, "gateway")).toThrow(CredentialsError);
    expect(validateCredentials(orders, TD, "orders").id.service).toBe("orders");
  });
});

/** A TLS server with `server`'s mTLS options that records the identity of each peer and any data. */
async function startServer(server: WorkloadTls) {
  const seen: { identity: string | undefined; data: string }[] = [];
  const errors: string[] = [];
  const srv = tls.createServer(server.serverOptions(), (socket) => {
    const entry = { identity: server.identify(socket)?.uri, data: "" };
    seen.push(entry);
    socket.on("data", (d) => {
      entry.data += String(d);
      socket.end("ok");
    });
    socket.on("error", () => {});
  });
  srv.on("tlsClientError", (err) => errors.push(err.message));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as import("node:net").AddressInfo).port;
  return { seen, errors, port, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

/** Connects, sends "hello", resolves the answer or rejects with the handshake error. */
function call(port: number, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ...options, host: "127.0.0.1", port }, () => socket.write("hello"));
    let answer = "";
    socket.on("data", (d) => (answer += String(d)));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.on("close", () => resolve(answer));
  });
}

describe("mutual TLS between workloads", async () => {
  const server = await createWorkloadTls({ trustDomain: TD, credentials: dev.workloads.get("orders")! });
  const client = await createWorkloadTls({ trustDomain: TD, credentials: dev.workloads.get("gateway")! });
  const s = await startServer(server);
  afterAll(() => s.close());

  it("serves a peer with a valid certificate over TLS 1.3 and reads its identity once", async () => {
    expect(await call(s.port, client.clientOptions("spiffe://weft.local/svc/orders"))).toBe("ok");
    expect(s.seen.at(-1)).toEqual({ identity: "spiffe://weft.local/svc/gateway", data: "hello" });
  });

  it("refuses, before any byte reaches the server, no client certificate, another CA and an expired one", async () => {
    const before = s.seen.length;
    // TLS 1.3: the client may finish its side of the handshake before the server's alert arrives, so
    // a refusal is an error or a connection closed without an answer.
    const refused = (options: tls.ConnectionOptions) => call(s.port, options).then((answer) => answer, (err: Error) => err.message);
    const noCert = { ca: ca.certPem, checkServerIdentity: () => undefined };
    const otherCa = issueDevelopmentCredentials({ trustDomain: TD, services: ["gateway"] }).workloads.get("gateway")!;
    const expired = leaf(["spiffe://weft.local/svc/gateway"], { notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) });
    for (const options of [noCert, { ...noCert, key: otherCa.keyPem, cert: otherCa.certPem }, { ...noCert, key: expired.keyPem, cert: expired.certPem }]) {
      expect(await refused(options)).not.toBe("ok");
    }
    expect(s.seen.length).toBe(before);
    expect(s.errors.join("\n")).toMatch(/certificate/i);
  });

  it("gives no identity for malformed leaves that pass the chain check", async () => {
    for (const uris of [["spiffe://weft.local/svc/a", "spiffe://weft.local/svc/b"], ["spiffe://weft.local/svc/orders, URI:spiffe://weft.local/svc/gateway"], ["spiffe://other.example/svc/gateway"], ["https://weft.local/svc/gateway"]]) {
      const bad = leaf(uris);
      expect(await call(s.port, { ca: ca.certPem, key: bad.keyPem, cert: bad.certPem, checkServerIdentity: () => undefined })).toBe("ok");
      expect(s.seen.at(-1)?.identity, uris.join(" ")).toBeUndefined();
    }
  });

  it("a client that reaches a server with the wrong identity aborts before sending", async () => {
    const before = s.seen.length;
    await expect(call(s.port, client.clientOptions("spiffe://weft.local/svc/inventory"))).rejects.toThrow(/expected spiffe:\/\/weft.local\/svc\/inventory/);
    // The server may see the connection, but never a byte of the request.
    expect(s.seen.slice(before).every((e) => e.data === "")).toBe(true);
  });
});

describe("rotation from files", async () => {
  const dir = await mkdtemp(join(tmpdir(), "weft-sec-"));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("picks up a new valid pair, ignores a mismatched one, and tells listeners", async () => {
    await writeCredentials(dir, dev.workloads.get("orders")!);
    const workload = await createWorkloadTls({ trustDomain: TD, dir, pollIntervalMs: 20 });
    const rotated: string[] = [];
    workload.onRotate((c) => rotated.push(c.leaf.serialNumber));
    const next = issueDevelopmentCredentials({ trustDomain: TD, services: ["orders"], ca }).workloads.get("orders")!;
    // A half-done replacement: new key, old certificate. Refused, the old pair stays.
    await writeFile(join(dir, "tls.key"), next.keyPem);
    expect(await workload.reload()).toBe(false);
    expect(workload.current().certPem).toBe(dev.workloads.get("orders")!.certPem);
    await writeFile(join(dir, "tls.crt"), next.certPem);
    await expect.poll(() => rotated.length, { timeout: 5000 }).toBe(1);
    expect(rotated[0]).toBe(next.leaf.serialNumber);
    expect((await readCredentials(dir, TD)).leaf.serialNumber).toBe(next.leaf.serialNumber);
    workload.close();
  });
});
