// Options of createMeshClient, their defaults (filled in one place) and validation.

import type { Tracer } from "@opentelemetry/api";
import type { Interceptor } from "@connectrpc/connect";
import { assertBoolean, assertFunction, assertInt, assertNumber, assertObject, assertOneOf, WeftOptionsError } from "../errors/index.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Endpoint, EndpointSource } from "../discovery/index.ts";
import type { OutlierDetectorOptions, RetryBudgetOptions } from "../resilience/index.ts";
import type { EndpointTransport, TransportKind } from "./endpoint-transport.ts";
import type { Http2EndpointOptions } from "./http2-endpoint-transport.ts";
import type { Metrics } from "../telemetry/index.ts";
import type { HostLogger } from "../engine/index.ts";

/** Retry settings. */
export interface RetryOptions {
  /** Most attempts per call, the first included. Default 3. */
  readonly maxAttempts?: number;
  /** Backoff before the first retry is random in [0, baseBackoffMs), doubling each retry. Default 10. */
  readonly baseBackoffMs?: number;
  /** Cap on one backoff, in milliseconds. Default 250. */
  readonly maxBackoffMs?: number;
  /** The retry budget shared by every call of this client. Defaults: 20% + 10/s over 10 s. */
  readonly budget?: RetryBudgetOptions;
}

/** Hedging settings (NO_SIDE_EFFECTS methods of services that enable it). */
export interface HedgingOptions {
  /** Send a second attempt when the first has taken longer than this latency percentile. Default 95. */
  readonly percentile?: number;
  /** Never hedge sooner than this, in milliseconds. Default 5. */
  readonly minDelayMs?: number;
  /** Samples a method needs before it is hedged. Default 100. */
  readonly minSamples?: number;
}

/** Balancer settings. */
export interface BalancerOptions {
  /** "p2c" (power of two choices on cost) or "round-robin" (ignores latency and load). Default "p2c". */
  readonly policy?: "p2c" | "round-robin";
  /** Time constant of the latency EWMA, in milliseconds. Default 5000. */
  readonly decayMs?: number;
  /** Latency assumed for a new endpoint, and that an idle one drifts toward, in ms. Default 1. */
  readonly initialLatencyMs?: number;
  /** Weight of one in-flight call the instance reports, relative to one of ours. Default 0.25. */
  readonly reportedLoadWeight?: number;
  /** Latency charged for a failed attempt (at least double the current estimate), in ms. Default 50. */
  readonly failurePenaltyMs?: number;
}

/** Per-service settings, by fully-qualified service name. */
export interface ServiceOptions {
  /** Which wire to use. Default: `defaultTransport`. */
  readonly transport?: TransportKind;
  /** Hedge NO_SIDE_EFFECTS methods. Default false. */
  readonly hedging?: boolean;
}

/** Options of createMeshClient. */
export interface MeshClientOptions {
  /** Where endpoints come from (NATS discovery or static). */
  readonly discovery: EndpointSource;
  /** NATS connection for services using the "nats" transport. Required only then. */
  readonly nc?: NatsConnection;
  /** The transport for services not listed in `services`. Default "grpc". */
  readonly defaultTransport?: TransportKind;
  /** Per-service settings. Default none. */
  readonly services?: Readonly<Record<string, ServiceOptions>>;
  /** Interceptors around every attempt (telemetry, auth). Default none. */
  readonly interceptors?: readonly Interceptor[];
  /** Settings of the HTTP/2 connections. */
  readonly http2?: Http2EndpointOptions;
  /**
   * The HTTP/2 client behind the gRPC transport: "weft" (mesh/transport, Weft's own) or "connect-node".
   * Default "weft".
   */
  readonly http2Client?: "weft" | "connect-node";
  /**
   * Builds the gRPC transport to one endpoint. Default: the `http2Client` one (Weft's own gRPC transport
   * unless "connect-node"), one HTTP/2 session per endpoint. Lets another HTTP/2 engine be swapped in.
   */
  readonly grpcTransport?: (endpoint: Endpoint) => EndpointTransport;
  /** Retries; false disables them. */
  readonly retry?: RetryOptions | false;
  /** Hedging settings (enabled per service). */
  readonly hedging?: HedgingOptions;
  /** Outlier ejection; false disables it. Defaults: 5 failures in a row, 1 s doubling to 30 s, +-20%, at most 50%. */
  readonly outlierDetection?: OutlierDetectorOptions | false;
  /** Balancer settings. */
  readonly balancer?: BalancerOptions;
  /** Bound outbound calls by the remaining deadline of the inbound call being handled. Default true. */
  readonly propagateDeadlines?: boolean;
  /**
   * Bound on a NATS call without a deadline, in milliseconds: the whole call for unary calls, the wait
   * for each message of a server stream. Default 30000.
   */
  readonly natsDefaultTimeoutMs?: number;
  /** Messages a stream over NATS may send ahead of its consumer (flow-control window). Default 32. */
  readonly natsStreamWindow?: number;
  /** The caller token of Connect-over-NATS requests (this workload's name; mesh/nats-rpc `caller`). Default "_" (anonymous). */
  readonly natsCaller?: string;
  /** Prefix of the Connect-over-NATS reply inbox: the connection's nats.js `inboxPrefix`. Default "_INBOX". */
  readonly natsInboxPrefix?: string;
  /**
   * While the NATS connection is down, call services on the nats transport over gRPC (HTTP/2) at the
   * instances' announced addresses, and return to NATS when it reconnects (nats-fallback.ts). Default true.
   */
  readonly natsFallback?: boolean;
  /**
   * After NATS reconnects, how long calls stay on gRPC before returning to NATS (the instances
   * reconnect and resubscribe meanwhile), in milliseconds. Default 1000.
   */
  readonly natsFallbackSettleMs?: number;
  /** Where the NATS fallback is logged (error when it starts, info with its duration when it ends). Default none. */
  readonly logger?: HostLogger;
  /** Where calls, retries, hedges, budget refusals and ejections are counted (mesh/telemetry). Default: none. */
  readonly metrics?: Metrics;
  /**
   * Records a CLIENT span per attempt and sends its traceparent (mesh/telemetry's `Tracing.tracer`).
   * Default none: no span, no header, nothing but this check per call.
   */
  readonly tracer?: Tracer;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  readonly discovery: EndpointSource;
  readonly nc: NatsConnection | undefined;
  readonly defaultTransport: TransportKind;
  readonly services: Readonly<Record<string, ServiceOptions>>;
  readonly interceptors: readonly Interceptor[];
  readonly http2: Http2EndpointOptions;
  readonly http2Client: "weft" | "connect-node";
  readonly grpcTransport: ((endpoint: Endpoint) => EndpointTransport) | undefined;
  readonly retry: Required<Omit<RetryOptions, "budget">> & { budget: RetryBudgetOptions } | false;
  readonly hedging: Required<HedgingOptions>;
  readonly outlierDetection: OutlierDetectorOptions | false;
  readonly balancer: Required<BalancerOptions>;
  readonly propagateDeadlines: boolean;
  readonly natsDefaultTimeoutMs: number;
  readonly natsStreamWindow: number;
  readonly natsCaller: string | undefined;
  readonly natsInboxPrefix: string | undefined;
  readonly natsFallback: boolean;
  readonly natsFallbackSettleMs: number;
  readonly logger: HostLogger | undefined;
  readonly metrics: Metrics | undefined;
  readonly tracer: Tracer | undefined;
}

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_CLIENT_OPTIONS";

function num(value: unknown, field: string, min: number, max = Number.POSITIVE_INFINITY, integer = false): number {
  if (integer) assertInt(OPTIONS, value, field, min, max === Number.POSITIVE_INFINITY ? Number.MAX_SAFE_INTEGER : max);
  else assertNumber(OPTIONS, value, field, min, max);
  return value;
}

function kind(value: unknown, field: string): TransportKind {
  assertOneOf(OPTIONS, value, field, ["grpc", "nats"] as const);
  return value;
}

/** Fills defaults and validates; throws naming the first bad field. */
export function resolveOptions(o: MeshClientOptions): ResolvedOptions {
  assertObject(OPTIONS, o, "options");
  if (o.discovery === undefined || typeof o.discovery.endpoints !== "function") {
    throw new WeftOptionsError(OPTIONS, "options.discovery must be an EndpointSource (createNatsDiscovery or createStaticDiscovery)");
  }
  const defaultTransport = kind(o.defaultTransport ?? "grpc", "options.defaultTransport");
  const services = o.services ?? {};
  let usesNats = defaultTransport === "nats";
  for (const [name, s] of Object.entries(services)) {
    if (s.transport !== undefined) usesNats ||= kind(s.transport, `options.services["${name}"].transport`) === "nats";
    if (s.hedging !== undefined) assertBoolean(OPTIONS, s.hedging, `options.services["${name}"].hedging`);
  }
  if (usesNats && (o.nc === undefined || typeof o.nc.publish !== "function")) {
    throw new WeftOptionsError(OPTIONS, "options.nc must be a NATS connection when a service uses the nats transport");
  }
  const r = o.retry === false ? false : {
    maxAttempts: num(o.retry?.maxAttempts ?? 3, "options.retry.maxAttempts", 1, 10, true),
    baseBackoffMs: num(o.retry?.baseBackoffMs ?? 10, "options.retry.baseBackoffMs", 0),
    maxBackoffMs: num(o.retry?.maxBackoffMs ?? 250, "options.retry.maxBackoffMs", 0),
    budget: o.retry?.budget ?? {},
  };
  const h = o.hedging ?? {};
  const b = o.balancer ?? {};
  const policy = b.policy ?? "p2c";
  assertOneOf(OPTIONS, policy, "options.balancer.policy", ["p2c", "round-robin"] as const);
  const propagateDeadlines = o.propagateDeadlines ?? true;
  assertBoolean(OPTIONS, propagateDeadlines, "options.propagateDeadlines");
  const http2Client = o.http2Client ?? "weft";
  assertOneOf(OPTIONS, http2Client, "options.http2Client", ["weft", "connect-node"] as const);
  if (o.grpcTransport !== undefined) assertFunction(OPTIONS, o.grpcTransport, "options.grpcTransport");
  const natsFallback = o.natsFallback ?? true;
  assertBoolean(OPTIONS, natsFallback, "options.natsFallback");
  return {
    discovery: o.discovery,
    nc: o.nc,
    defaultTransport,
    services,
    interceptors: [...(o.interceptors ?? [])],
    http2: o.http2 ?? {},
    http2Client,
    grpcTransport: o.grpcTransport,
    retry: r,
    hedging: {
      percentile: num(h.percentile ?? 95, "options.hedging.percentile", 1, 100),
      minDelayMs: num(h.minDelayMs ?? 5, "options.hedging.minDelayMs", 0),
      minSamples: num(h.minSamples ?? 100, "options.hedging.minSamples", 1, 1000, true),
    },
    outlierDetection: o.outlierDetection ?? {},
    balancer: {
      policy,
      decayMs: num(b.decayMs ?? 5000, "options.balancer.decayMs", 1),
      initialLatencyMs: num(b.initialLatencyMs ?? 1, "options.balancer.initialLatencyMs", 0.001),
      reportedLoadWeight: num(b.reportedLoadWeight ?? 0.25, "options.balancer.reportedLoadWeight", 0),
      failurePenaltyMs: num(b.failurePenaltyMs ?? 50, "options.balancer.failurePenaltyMs", 0),
    },
    propagateDeadlines,
    natsDefaultTimeoutMs: num(o.natsDefaultTimeoutMs ?? 30_000, "options.natsDefaultTimeoutMs", 1, Number.MAX_SAFE_INTEGER, true),
    natsStreamWindow: num(o.natsStreamWindow ?? 32, "options.natsStreamWindow", 1, 10_000, true),
    natsCaller: o.natsCaller,
    natsInboxPrefix: o.natsInboxPrefix,
    natsFallback,
    natsFallbackSettleMs: num(o.natsFallbackSettleMs ?? 1000, "options.natsFallbackSettleMs", 0, Number.MAX_SAFE_INTEGER, true),
    logger: o.logger,
    metrics: o.metrics,
    tracer: o.tracer,
  };
}
