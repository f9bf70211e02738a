// Mutual TLS between a real Weft host and the mesh client, over real sockets: who is served, who is
// refused before any handler, rotation of every certificate under load, and the maximum connection age.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient, type HandlerContext } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { createStaticDiscovery } from "../../mesh/discovery/index.ts";
import { createHost, silentLogger, type Host } from "../../mesh/host/index.ts";
import { createWeftGrpcTransport } from "../../mesh/transport/index.ts";
import {
  createWorkloadTls,
  hostTlsOptions,
  issueCertificate,
  issueDevelopmentCredentials,
  meshClientTls,
  writeCredentials,
  type WorkloadTls,
} from "../../mesh/security/index.ts";

const TD = "weft.local";
const ORDERS = `spiffe://${TD}/svc/orders`;
const dev = issueDevelopmentCredentials({ trustDomain: TD, services: ["orders", "gateway"] });
const dirs: string[] = [];
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Credentials of `service` in a fresh folder, watched every 20 ms. */
async function workload(service: string): Promise<WorkloadTls & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), `weft-mtls-${service}-`));
  dirs.push(dir);
  await writeCredentials(dir, dev.workloads.get(service)!);
  const tls = await createWorkloadTls({ trustDomain: TD, dir, pollIntervalMs: 20 });
  cleanups.push(() => tls.close());
  return Object.assign(tls, { dir });
}

/** A host serving TestService over mTLS as `server`; counts handler runs and echoes the caller's identity. */
async function startHost(server: WorkloadTls, extra: { maxConnectionAgeMs?: number } = {}) {
  const stats = { handled: 0, sessions: 0 };
  const host: Host = createHost({ port: 0, tuneGc: false, logger: silentLogger, tls: hostTlsOptions(server), ...extra });
  host.register(TestService, {
    async unaryCall(req, ctx: HandlerContext) {
      stats.handled++;
      if (req.sleepMs > 0) await sleep(req.sleepMs);
      return { servedBy: (ctx as { peerIdentity?: string }).peerIdentity ?? "anonymous" };
    },
  });
  const address = await host.listen();
  cleanups.push(() => host.close());
  return { host, stats, address: `127.0.0.1:${address.port}` };
}

/** A mesh client calling `address` as `client`, expecting the server to be `expected`. */
function meshClient(client: WorkloadTls, address: string, expected: string | undefined, onConnect?: (serial: string) => void): MeshClient {
  const tls = meshClientTls(client, () => expected);
  const mesh = createMeshClient({
    discovery: createStaticDiscovery({ endpoints: { [TestService.typeName]: [address] } }),
    http2: {
      ...tls,
      tls: (endpoint) => {
        const options = tls.tls!(endpoint)!;
        // Wraps the identity check to see which server certificate each new connection met.
        return { ...options, checkServerIdentity: (host, cert) => (onConnect?.(cert.serialNumber), options.checkServerIdentity!(host, cert)) };
      },
    },
    outlierDetection: false,
  });
  cleanups.push(() => mesh.close());
  return mesh;
}

describe("mTLS between a host and the mesh client", async () => {
  const orders = await workload("orders");
  const gateway = await workload("gateway");

  it("serves an allowed peer and hands its identity to the handler", async () => {
    const { address } = await startHost(orders);
    const client = meshClient(gateway, address, ORDERS).client(TestService);
    expect((await client.unaryCall({})).servedBy).toBe(`spiffe://${TD}/svc/gateway`);
  });

  it("refuses before any handler: no client certificate, another CA, a malformed identity", async () => {
    const { address, stats } = await startHost(orders);
    const base = { baseUrl: `https://${address}`, idleTimeoutMs: 0 };
    const noCert = createWeftGrpcTransport({ ...base, tls: { ca: dev.ca.certPem, checkServerIdentity: () => undefined } });
    const otherCa = issueDevelopmentCredentials({ trustDomain: TD, services: ["gateway"] }).workloads.get("gateway")!;
    const foreign = createWeftGrpcTransport({ ...base, tls: { ca: dev.ca.certPem, key: otherCa.keyPem, cert: otherCa.certPem, checkServerIdentity: () => undefined } });
    const twoSans = issueCertificate({ commonName: "x", uris: [`spiffe://${TD}/svc/gateway`, `spiffe://${TD}/svc/orders`], issuer: dev.ca });
    const malformed = createWeftGrpcTransport({ ...base, tls: { ca: dev.ca.certPem, key: twoSans.keyPem, cert: twoSans.certPem, checkServerIdentity: () => undefined } });
    for (const transport of [noCert, foreign, malformed]) {
      const err = await createClient(TestService, transport).unaryCall({}).catch((e: unknown) => ConnectError.from(e));
      expect(err).toBeInstanceOf(ConnectError);
      // TLS 1.3: the client may count itself connected before the server's alert, then sees its
      // stream cancelled with the connection (CANCELED) rather than a failed connect (UNAVAILABLE).
      expect([Code.Unavailable, Code.Canceled]).toContain((err as ConnectError).code);
      transport.close();
    }
    expect(stats.handled).toBe(0);
  });

  it("a client that reaches a server with the wrong identity aborts before sending", async () => {
    const { address, stats } = await startHost(orders);
    const client = meshClient(gateway, address, `spiffe://${TD}/svc/inventory`).client(TestService);
    const err = await client.unaryCall({}).catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    const unknown = meshClient(gateway, address, undefined).client(TestService);
    expect((await unknown.unaryCall({}).catch((e: unknown) => ConnectError.from(e)) as ConnectError).code).toBe(Code.Unavailable);
    expect(stats.handled).toBe(0);
  });

  it("rotates every certificate under load with no failed call", async () => {
    const server = await workload("orders");
    const client = await workload("gateway");
    const { address, stats } = await startHost(server);
    const serials = new Set<string>();
    const test = meshClient(client, address, ORDERS, (serial) => serials.add(serial)).client(TestService);
    let failures = 0;
    let done = 0;
    let stop = false;
    const worker = async () => {
      for (let i = 0; i < 5000 && !stop; i++) {
        await test.unaryCall({}).then(() => done++, () => failures++);
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, worker));
    const rotations = 3;
    for (let r = 0; r < rotations; r++) {
      await expect.poll(() => done, { timeout: 10_000 }).toBeGreaterThan((r + 1) * 200);
      // New leaves for both sides from the same CA: server files first, then the client's.
      const next = issueDevelopmentCredentials({ trustDomain: TD, services: ["orders", "gateway"], ca: dev.ca });
      await writeCredentials(server.dir, next.workloads.get("orders")!);
      // The server must serve its new certificate before the client rotates: each side's watcher polls on
      // its own, and a client that retired its connection first would reconnect to the old certificate.
      await expect.poll(() => server.current().leaf.serialNumber === next.workloads.get("orders")!.leaf.serialNumber, { timeout: 5000 }).toBe(true);
      await writeCredentials(client.dir, next.workloads.get("gateway")!);
      await expect.poll(() => server.current().leaf.serialNumber === next.workloads.get("orders")!.leaf.serialNumber && client.current().leaf.serialNumber === next.workloads.get("gateway")!.leaf.serialNumber, { timeout: 5000 }).toBe(true);
      // The client retired its connection; the next one met the server's new certificate.
      await expect.poll(() => serials.has(next.workloads.get("orders")!.leaf.serialNumber), { timeout: 5000 }).toBe(true);
    }
    const before = done;
    await expect.poll(() => done, { timeout: 10_000 }).toBeGreaterThan(before + 200);
    stop = true;
    await load;
    expect(failures).toBe(0);
    expect(serials.size).toBe(rotations + 1);
    expect(stats.handled).toBe(done);
  });

  it("closes connections past their maximum age with GOAWAY while calls in flight finish", async () => {
    const { address } = await startHost(orders, { maxConnectionAgeMs: 300 });
    let connections = 0;
    const test = meshClient(gateway, address, ORDERS, () => connections++).client(TestService);
    // Slow calls on the first connection outlive its age; later calls go to new connections.
    const slow = Array.from({ length: 4 }, () => test.unaryCall({ sleepMs: 1200 }));
    let failures = 0;
    for (let i = 0; i < 40; i++) {
      await test.unaryCall({}).catch(() => failures++);
      await sleep(25);
    }
    const answers = await Promise.allSettled(slow);
    expect(answers.map((a) => a.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
    expect(failures).toBe(0);
    expect(connections).toBeGreaterThanOrEqual(2);
  });
});
