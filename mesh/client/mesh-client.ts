// createMeshClient: typed Connect clients whose calls are balanced over discovered endpoints.

import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createRetryBudget, type Ejection } from "../resilience/index.ts";
import type { EndpointTransport, TransportKind } from "./endpoint-transport.ts";
import { EndpointPool, type EndpointSnapshot } from "./endpoint-pool.ts";
import { createHttp2EndpointTransport } from "./http2-endpoint-transport.ts";
import { createWeftEndpointTransport } from "./weft-endpoint-transport.ts";
import { createNatsRpcClient, type NatsRpcClient } from "../nats-rpc/index.ts";
import { resolveOptions, type MeshClientOptions } from "./options.ts";
import { watchNatsConnection, type NatsFallback } from "./nats-fallback.ts";
import { createServiceTransport, type CallStats, type MeshCallContext } from "./service-transport.ts";

/** Counters and endpoint states of a mesh client. */
export interface MeshClientStats extends Readonly<CallStats> {
  /** Retries/hedges granted and denied by the budget. */
  readonly budget: { readonly requests: number; readonly retries: number; readonly denied: number } | undefined;
  /** Every ejection so far. */
  readonly ejections: readonly Ejection[];
  /** Per-endpoint state. */
  readonly endpoints: readonly EndpointSnapshot[];
  /** The NATS fallback: on now, and how many times so far (undefined without NATS or with it off). */
  readonly natsFallback: { readonly active: boolean; readonly count: number } | undefined;
}

/** A mesh client: hands out typed clients and owns their connections. */
export interface MeshClient {
  /** A typed client for `service`, balanced over the endpoints discovery knows for it. */
  client<S extends DescService>(service: S): Client<S>;
  /** The Connect transport behind `client(service)` (for createClient or other tooling). */
  transport(service: DescService): Transport;
  /** Counters and endpoint states. */
  stats(): MeshClientStats;
  /** Closes every connection (the discovery source is the caller's to close). */
  close(): void;
}

/** Creates a mesh client; connections open lazily on first use. */
export function createMeshClient(options: MeshClientOptions): MeshClient {
  const o = resolveOptions(options);
  let nats: NatsRpcClient | undefined;
  const makeTransport = (endpoint: Parameters<typeof createHttp2EndpointTransport>[0], kind: TransportKind): EndpointTransport => {
    if (kind === "nats") {
      nats ??= createNatsRpcClient({
        nc: o.nc!, interceptors: o.interceptors, defaultTimeoutMs: o.natsDefaultTimeoutMs, streamWindow: o.natsStreamWindow,
        caller: o.natsCaller, inboxPrefix: o.natsInboxPrefix,
      });
      return nats.endpoint(endpoint);
    }
    if (o.grpcTransport !== undefined) return o.grpcTransport(endpoint);
    const http2 = { ...o.http2, interceptors: [...o.interceptors, ...(o.http2.interceptors ?? [])] };
    return o.http2Client === "weft" ? createWeftEndpointTransport(endpoint, http2) : createHttp2EndpointTransport(endpoint, http2);
  };
  const pool = new EndpointPool(o, makeTransport);
  const usesNats = o.defaultTransport === "nats" || Object.values(o.services).some((s) => s.transport === "nats");
  const fallback: NatsFallback | undefined = usesNats && o.natsFallback
    ? watchNatsConnection({ nc: o.nc!, onLost: () => nats?.failAll(), logger: o.logger, metrics: o.metrics, settleMs: o.natsFallbackSettleMs })
    : undefined;
  const budget = o.retry === false ? undefined : createRetryBudget(o.retry.budget);
  const stats: CallStats = { calls: 0, attempts: 0, retries: 0, hedges: 0, failures: 0, fallbackAttempts: 0 };
  let readyPromise: Promise<void> | undefined;
  const ctx: MeshCallContext = {
    pool,
    options: o,
    budget,
    stats,
    ready: () => (readyPromise ??= o.discovery.ready()),
    natsDown: () => fallback?.active === true,
  };
  const transports = new Map<string, Transport>();
  const transport = (service: DescService): Transport => {
    let t = transports.get(service.typeName);
    if (t === undefined) transports.set(service.typeName, (t = createServiceTransport(ctx, service)));
    return t;
  };
  return {
    client: (service) => createClient(service, transport(service)),
    transport,
    stats: () => ({
      ...stats,
      budget: budget === undefined ? undefined : { ...budget.stats },
      ejections: [...pool.ejections],
      endpoints: pool.snapshot(),
      natsFallback: fallback === undefined ? undefined : { active: fallback.active, count: fallback.count },
    }),
    close() {
      fallback?.close();
      pool.close();
      nats?.close();
    },
  };
}
