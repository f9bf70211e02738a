// The interop matrix for connect-es clients: connect-node's transports (Connect, gRPC, gRPC-Web) and
// Weft's own transports against Weft's engine, and Weft's transports against connect-node and grpc-js
// servers, and Connect over NATS (Weft's client and server, all four call kinds). One table of cases
// (cases.ts) x one table of clients x servers.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import type { Transport } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { createWeftConnectTransport, createWeftGrpcTransport } from "../../mesh/transport/index.ts";
import { createNatsRpcClient } from "../../mesh/nats-rpc/index.ts";
import { NO_LOAD } from "../../mesh/discovery/index.ts";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { CASES } from "./cases.ts";
import type { ClientCaps } from "./cases.ts";
import { startConnectNode, startGrpcJs, startWeft, startWeftNats } from "./servers.ts";
import type { RunningServer } from "./servers.ts";

interface ClientKind {
  readonly name: string;
  readonly caps: ClientCaps;
  /** Which URL of the server it needs. */
  readonly http1: boolean;
  readonly make: (baseUrl: string, gzip: boolean, server: RunningServer) => Transport & { close?: () => void };
}

const gz = (on: boolean) => (on ? { sendCompression: compressionGzip, acceptCompression: [compressionGzip] } : {});

const CONNECT_NODE_CLIENTS: ClientKind[] = [
  { name: "connect-node gRPC", caps: { bidi: true }, http1: false, make: (u, g) => createGrpcTransport({ baseUrl: u, ...gz(g) }) },
  { name: "connect-node gRPC-Web h2", caps: { bidi: true }, http1: false, make: (u, g) => createGrpcWebTransport({ baseUrl: u, httpVersion: "2", ...gz(g) }) },
  { name: "connect-node gRPC-Web h1", caps: { bidi: false }, http1: true, make: (u, g) => createGrpcWebTransport({ baseUrl: u, httpVersion: "1.1", ...gz(g) }) },
  { name: "connect-node Connect h1 proto", caps: { bidi: false }, http1: true, make: (u, g) => createConnectTransport({ baseUrl: u, httpVersion: "1.1", ...gz(g) }) },
  { name: "connect-node Connect h1 JSON", caps: { bidi: false, json: true }, http1: true, make: (u, g) => createConnectTransport({ baseUrl: u, httpVersion: "1.1", useBinaryFormat: false, ...gz(g) }) },
  { name: "connect-node Connect h2 JSON", caps: { bidi: true, json: true }, http1: false, make: (u, g) => createConnectTransport({ baseUrl: u, httpVersion: "2", useBinaryFormat: false, ...gz(g) }) },
];

const WEFT_CLIENTS: ClientKind[] = [
  { name: "weft gRPC", caps: { bidi: true }, http1: false, make: (u, g) => createWeftGrpcTransport({ baseUrl: u, sendGzip: g }) },
  { name: "weft gRPC JSON", caps: { bidi: true, json: true }, http1: false, make: (u, g) => createWeftGrpcTransport({ baseUrl: u, sendGzip: g, binaryFormat: false }) },
  { name: "weft Connect h1", caps: { bidi: false }, http1: true, make: (u, g) => createWeftConnectTransport({ baseUrl: u, sendGzip: g }) },
];

// Connect over NATS has no compression: the gzip case runs uncompressed.
const NATS_CLIENTS: ClientKind[] = [
  {
    name: "weft NATS", caps: { bidi: true }, http1: false,
    make: (u, _g, server) => {
      const rpc = createNatsRpcClient({ nc: server.nc!, streamWindow: 4 });
      const endpoint = { instanceId: "matrix", services: [TestService.typeName], address: "", natsSubject: u.slice("nats:".length), version: "", ready: true, load: NO_LOAD };
      return Object.assign(rpc.endpoint(endpoint), { close: () => rpc.close() });
    },
  },
];

// `limits` and `details`: whether the server enforces the matrix's message limits and sends error
// details; cases needing one are left out when collecting, so no test passes without asserting.
const SERVERS: { name: string; start: () => Promise<RunningServer>; clients: ClientKind[]; limits: boolean; details: boolean }[] = [
  { name: "weft", start: startWeft, clients: [...CONNECT_NODE_CLIENTS, ...WEFT_CLIENTS], limits: true, details: true },
  { name: "connect-node", start: startConnectNode, clients: WEFT_CLIENTS, limits: false, details: true },
  // grpc-js speaks gRPC (protobuf) only.
  { name: "grpc-js", start: startGrpcJs, clients: WEFT_CLIENTS.filter((c) => c.name === "weft gRPC"), limits: false, details: false },
  { name: "weft over NATS", start: startWeftNats, clients: NATS_CLIENTS, limits: true, details: true },
];

describe.each(SERVERS)("server $name", ({ start, clients, limits, details }) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start();
    // The table above must say what the started server does.
    expect({ limits: server.limits, details: server.details }).toEqual({ limits, details });
  });
  afterAll(async () => {
    await server?.close();
  });

  describe.each(clients)("client $name", (kind) => {
    const transports: (Transport & { close?: () => void })[] = [];
    const env = () => {
      const url = kind.http1 ? server.url1! : server.url;
      const transport = kind.make(url, false, server);
      const gzipTransport = kind.make(url, true, server);
      transports.push(transport, gzipTransport);
      return { transport, client: createClient(TestService, transport), gzipClient: createClient(TestService, gzipTransport), server, caps: kind.caps };
    };
    afterAll(() => {
      for (const t of transports) t.close?.();
    });
    const cases = CASES.filter(
      (c) =>
        (c.bidi !== true || kind.caps.bidi) &&
        (c.binary !== true || kind.caps.json !== true) &&
        (c.limits !== true || limits) &&
        (c.details !== true || details),
    );
    it.each(cases)("$name", async (c) => {
      await c.run(env());
    });
  });
});
