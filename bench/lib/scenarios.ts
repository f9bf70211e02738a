// The scenario catalog: which server (and, for client scenarios, which client) each one runs, and the
// targets Weft's scenarios are judged by, all as ratios against peers measured in the same run.

import { fileURLToPath } from "node:url";
import { BENCH_AUTHZ_ENV, BENCH_MTLS_ENV, benchMtlsDir } from "./mtls.ts";

/** A table of the report. */
export type ScenarioGroup = "grpc" | "http1" | "client" | "mtls";

/** One benchmark scenario. */
export interface Scenario {
  /** Stable id, `<group>/<name>`, used by `--only` and in the JSON. */
  readonly id: string;
  readonly group: ScenarioGroup;
  /** Row label in the tables. */
  readonly label: string;
  /** Server script (runs on the server core). */
  readonly server: string;
  /** Wire mode the server is started in. */
  readonly mode: "h2" | "h1";
  /** Client driver script for client scenarios (runs on the load core). */
  readonly client?: string;
  /** Environment variables added for the server and the client driver (e.g. telemetry settings). */
  readonly env?: Readonly<Record<string, string>>;
}

const serverScript = (name: string) => fileURLToPath(new URL(`../servers/${name}.ts`, import.meta.url));
const clientScript = (name: string) => fileURLToPath(new URL(`../clients/${name}.ts`, import.meta.url));
/** The mTLS scenarios' environment: credentials written once per bench run (bench/lib/mtls.ts). */
const MTLS = { [BENCH_MTLS_ENV]: benchMtlsDir() };

/** Every scenario, in table order. */
export const SCENARIOS: readonly Scenario[] = [
  { id: "grpc/raw-http2", group: "grpc", label: "raw node:http2, hand-written gRPC framing (ceiling)", server: serverScript("raw-http2"), mode: "h2" },
  { id: "grpc/grpc-js", group: "grpc", label: "@grpc/grpc-js server", server: serverScript("grpc-js"), mode: "h2" },
  { id: "grpc/connect-node", group: "grpc", label: "@connectrpc/connect-node adapter", server: serverScript("connect-node"), mode: "h2" },
  { id: "grpc/weft", group: "grpc", label: "Weft host", server: serverScript("weft"), mode: "h2" },
  // The same host with the request checked against UnaryCallRequest's protovalidate rules (mesh/validation).
  { id: "grpc/weft-validated", group: "grpc", label: "Weft host, request validation on", server: serverScript("weft"), mode: "h2", env: { WEFT_BENCH_VALIDATE: "1" } },
  { id: "http1/raw-http", group: "http1", label: "raw node:http JSON (ceiling)", server: serverScript("raw-http1"), mode: "h1" },
  { id: "http1/fastify", group: "http1", label: "fastify 5 JSON route", server: serverScript("fastify"), mode: "h1" },
  { id: "http1/connect-node", group: "http1", label: "@connectrpc/connect-node, Connect JSON", server: serverScript("connect-node"), mode: "h1" },
  { id: "http1/weft", group: "http1", label: "Weft host, Connect JSON", server: serverScript("weft"), mode: "h1" },
  { id: "client/grpc-js", group: "client", label: "grpc-js client → grpc-js server", server: serverScript("grpc-js"), mode: "h2", client: clientScript("grpc-js") },
  { id: "client/connect-node", group: "client", label: "connect-node client → connect-node server", server: serverScript("connect-node"), mode: "h2", client: clientScript("connect-node") },
  { id: "client/weft", group: "client", label: "Weft client → Weft server", server: serverScript("weft"), mode: "h2", client: clientScript("weft") },
  { id: "mtls/weft-h2c", group: "mtls", label: "Weft client → Weft host, h2c (reference)", server: serverScript("weft"), mode: "h2", client: clientScript("weft") },
  { id: "mtls/weft", group: "mtls", label: "Weft client → Weft host, TLS 1.3 + client certificates", server: serverScript("weft"), mode: "h2", client: clientScript("weft"), env: MTLS },
  { id: "mtls/weft-authz", group: "mtls", label: "same, with authorization hooks (policy by SPIFFE ID)", server: serverScript("weft"), mode: "h2", client: clientScript("weft"), env: { ...MTLS, [BENCH_AUTHZ_ENV]: "1" } },
  { id: "mtls/grpc-js", group: "mtls", label: "grpc-js client → grpc-js server, TLS + client certificates", server: serverScript("grpc-js"), mode: "h2", client: clientScript("grpc-js"), env: MTLS },
];

/** A ratio Weft must reach against a peer, both measured in the same run. */
export interface Target {
  readonly id: string;
  readonly label: string;
  /** Weft's scenario. */
  readonly subject: string;
  /** The peer it is compared with. */
  readonly baseline: string;
  /** Smallest acceptable subject / baseline. */
  readonly atLeast: number;
}

/** The targets. */
export const TARGETS: readonly Target[] = [
  { id: "grpc-vs-raw", label: "Weft gRPC server vs raw node:http2", subject: "grpc/weft", baseline: "grpc/raw-http2", atLeast: 0.85 },
  { id: "grpc-vs-grpc-js", label: "Weft gRPC server vs grpc-js server", subject: "grpc/weft", baseline: "grpc/grpc-js", atLeast: 1.3 },
  { id: "json-vs-raw", label: "Weft Connect JSON (HTTP/1.1) vs raw node:http", subject: "http1/weft", baseline: "http1/raw-http", atLeast: 0.85 },
  { id: "json-vs-fastify", label: "Weft Connect JSON (HTTP/1.1) vs fastify", subject: "http1/weft", baseline: "http1/fastify", atLeast: 1.0 },
  { id: "client-vs-grpc-js", label: "Weft client → Weft server vs grpc-js → grpc-js", subject: "client/weft", baseline: "client/grpc-js", atLeast: 1.5 },
  { id: "mtls-vs-h2c", label: "Weft mTLS (warm connection) vs Weft h2c", subject: "mtls/weft", baseline: "mtls/weft-h2c", atLeast: 0.9 },
  { id: "mtls-vs-grpc-js", label: "Weft mTLS + authorization vs grpc-js mTLS", subject: "mtls/weft-authz", baseline: "mtls/grpc-js", atLeast: 1.3 },
  { id: "authz-cost", label: "Weft mTLS with authorization vs without (cost ≤ 3%)", subject: "mtls/weft-authz", baseline: "mtls/weft", atLeast: 0.97 },
];

/** Group names accepted by `--only` besides scenario ids. */
export const GROUPS: readonly ScenarioGroup[] = ["grpc", "http1", "client", "mtls"];

/** The scenarios selected by `--only` entries (ids or group names), in table order. */
export function selectScenarios(only: readonly string[] | undefined): Scenario[] {
  if (only === undefined) return [...SCENARIOS];
  const unknown = only.filter((name) => !SCENARIOS.some((s) => s.id === name) && !GROUPS.includes(name as ScenarioGroup));
  if (unknown.length > 0) {
    throw new Error(`--only: unknown scenario ${unknown.join(", ")}; known: ${[...GROUPS, ...SCENARIOS.map((s) => s.id)].join(", ")}`);
  }
  return SCENARIOS.filter((s) => only.includes(s.id) || only.includes(s.group));
}
