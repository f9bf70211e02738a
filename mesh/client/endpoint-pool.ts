// The endpoints a mesh client can send to: one state per instance (latency stats, transports by kind),
// kept in step with discovery; candidate selection with outlier ejection; and one attempt's
// bookkeeping (outstanding count, latency, health).

import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import type { Endpoint, EndpointSource } from "../discovery/index.ts";
import { createOutlierDetector, type Ejection, type OutlierDetector } from "../resilience/index.ts";
import type { Candidate } from "./balancer.ts";
import { cost, pickP2C } from "./balancer.ts";
import type { EndpointTransport, TransportKind } from "./endpoint-transport.ts";
import { reachableBy } from "./endpoint-transport.ts";
import { EndpointStats } from "./endpoint-stats.ts";
import { classifyFailure } from "./failure.ts";
import type { ResolvedOptions } from "./options.ts";

/** Everything known about one instance. */
export interface EndpointState extends Candidate {
  endpoint: Endpoint;
  readonly stats: EndpointStats;
  /** Attempts sent there (for tests and dashboards). */
  attempts: number;
  /** Attempts that failed there. */
  failures: number;
  readonly transports: Map<TransportKind, EndpointTransport>;
}

/** A snapshot of one endpoint's state. */
export interface EndpointSnapshot {
  readonly instanceId: string;
  readonly address: string;
  readonly outstanding: number;
  readonly ewmaMs: number;
  readonly attempts: number;
  readonly failures: number;
  readonly ejected: boolean;
}

/** Builds the transport of a kind to an endpoint. */
export type TransportFactory = (endpoint: Endpoint, kind: TransportKind) => EndpointTransport;

/** The pool of endpoint states of one mesh client. */
export class EndpointPool {
  readonly #states = new Map<string, EndpointState>();
  readonly #discovery: EndpointSource;
  readonly #outliers: OutlierDetector | undefined;
  readonly #options: ResolvedOptions;
  readonly #makeTransport: TransportFactory;
  readonly #roundRobin = new Map<string, number>();
  readonly #scratch: EndpointState[] = [];
  readonly #unsubscribe: () => void;

  constructor(options: ResolvedOptions, makeTransport: TransportFactory) {
    this.#options = options;
    this.#discovery = options.discovery;
    this.#makeTransport = makeTransport;
    this.#outliers = options.outlierDetection === false ? undefined : createOutlierDetector(options.outlierDetection);
    this.#unsubscribe = this.#discovery.subscribe((event) => {
      if (event.type === "update") {
        const state = this.#states.get(event.endpoint.instanceId);
        const before = state?.endpoint.natsConnection ?? 0;
        const now = event.endpoint.natsConnection ?? 0;
        if (state === undefined || before === 0 || now <= before) return;
        state.endpoint = event.endpoint;
        state.transports.get("nats")?.natsReconnected?.();
        return;
      }
      if (event.type !== "down") return;
      const id = event.endpoint.instanceId;
      const state = this.#states.get(id);
      this.#states.delete(id);
      this.#outliers?.remove(id);
      // A drained instance finishes what it has; an expired or vanished one never will.
      for (const t of state?.transports.values() ?? []) t.close(event.reason === "leave");
    });
  }

  /** Ejections so far. */
  get ejections(): readonly Ejection[] {
    return this.#outliers?.ejections ?? [];
  }

  /**
   * Chooses an endpoint for `service` over `kind`, avoiding `tried` when possible and ejected endpoints
   * unless nothing else is left. Undefined when no ready endpoint exists at all.
   */
  pick(service: string, kind: TransportKind, tried: readonly string[] | undefined): EndpointState | undefined {
    const endpoints = this.#discovery.endpoints(service);
    // Clocks are read only when needed: ejection checks only once something was ever ejected.
    const outliers = this.#outliers !== undefined && this.#outliers.ejections.length > 0 ? this.#outliers : undefined;
    const wall = outliers === undefined ? 0 : Date.now();
    // Reused between calls (pick is synchronous and returns an element, never the array).
    const fresh = this.#scratch;
    fresh.length = 0;
    let ejected: EndpointState[] | undefined;
    let repeat: EndpointState[] | undefined;
    let reachable = 0;
    for (const endpoint of endpoints) {
      if (!endpoint.ready || !reachableBy(endpoint, kind)) continue;
      reachable++;
      const state = this.#state(endpoint);
      if (tried !== undefined && tried.includes(endpoint.instanceId)) (repeat ??= []).push(state);
      else if (outliers?.isEjected(endpoint.instanceId, wall)) (ejected ??= []).push(state);
      else fresh.push(state);
    }
    if (reachable === 0) return undefined;
    const pool = fresh.length > 0 ? fresh : ejected ?? repeat ?? [];
    if (pool.length === 1) return pool[0];
    if (this.#options.balancer.policy === "round-robin") {
      const n = (this.#roundRobin.get(service) ?? 0) + 1;
      this.#roundRobin.set(service, n);
      return pool[n % pool.length];
    }
    return pickP2C(pool, performance.now(), this.#options.balancer) as EndpointState | undefined;
  }

  /**
   * Runs one unary attempt on `state`, keeping its statistics and health. Written with then() rather
   * than async/await: it wraps every attempt, so it should add one promise, not an async frame.
   */
  unary<I extends DescMessage, O extends DescMessage>(
    state: EndpointState,
    kind: TransportKind,
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
    contextValues: ContextValues | undefined,
  ): Promise<UnaryResponse<I, O>> {
    const transport = this.#transport(state, kind);
    state.stats.outstanding++;
    state.attempts++;
    const started = performance.now();
    let pending: Promise<UnaryResponse<I, O>>;
    try {
      pending = transport.unary(method, signal, timeoutMs, header, input, contextValues);
    } catch (e) {
      pending = Promise.reject(e);
    }
    return pending.then(
      (res) => {
        const now = performance.now();
        state.stats.outstanding--;
        state.stats.observe(now - started, now);
        this.#outliers?.onSuccess(state.endpoint.instanceId);
        return res;
      },
      (e: unknown) => {
        state.stats.outstanding--;
        // A stream cancelled though nobody asked for it means the connection broke under it (the
        // instance died): report that as UNAVAILABLE rather than a misleading CANCELED.
        const err = e instanceof ConnectError && e.code === Code.Canceled && signal?.aborted !== true
          ? new ConnectError("the connection to the endpoint broke during the call", Code.Unavailable, undefined, undefined, e)
          : e;
        this.#onError(state, err, started);
        throw err;
      },
    );
  }

  /** Opens a streaming call on `state` (no retries: the messages may have been consumed). */
  async stream<I extends DescMessage, O extends DescMessage>(
    state: EndpointState,
    kind: TransportKind,
    method: DescMethodStreaming<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
    contextValues: ContextValues | undefined,
  ): Promise<StreamResponse<I, O>> {
    const transport = this.#transport(state, kind);
    state.attempts++;
    const started = performance.now();
    try {
      return await transport.stream(method, signal, timeoutMs, header, input, contextValues);
    } catch (err) {
      this.#onError(state, err, started);
      throw err;
    }
  }

  /** True while outlier detection has `instanceId` ejected. */
  isEjected(instanceId: string): boolean {
    return this.#outliers?.isEjected(instanceId) ?? false;
  }

  /** The states of every endpoint currently known to the pool. */
  snapshot(): EndpointSnapshot[] {
    return [...this.#states.values()].map((s) => ({
      instanceId: s.endpoint.instanceId,
      address: s.endpoint.address,
      outstanding: s.stats.outstanding,
      ewmaMs: s.stats.ewmaMs,
      attempts: s.attempts,
      failures: s.failures,
      ejected: this.#outliers?.isEjected(s.endpoint.instanceId) ?? false,
    }));
  }

  /** The cost the balancer sees for an endpoint now (for tests). */
  costOf(instanceId: string): number | undefined {
    const s = this.#states.get(instanceId);
    return s === undefined ? undefined : cost(s, performance.now(), this.#options.balancer);
  }

  /** Closes every transport. */
  close(): void {
    this.#unsubscribe();
    for (const s of this.#states.values()) for (const t of s.transports.values()) t.close(false);
    this.#states.clear();
  }

  #onError(state: EndpointState, err: unknown, started: number): void {
    const now = performance.now();
    if (err instanceof ConnectError && err.code === Code.Canceled) return; // our own cancel says nothing
    const f = classifyFailure(err);
    if (f.endpointFailure) {
      state.failures++;
      state.stats.penalize(this.#options.balancer.failurePenaltyMs, now);
      const ejection = this.#outliers?.onFailure(state.endpoint.instanceId, this.#countFor(state));
      if (ejection !== undefined && this.#options.metrics !== undefined) this.#options.metrics.clientService(state.endpoint.services[0] ?? "unknown").ejections.value++;
    } else {
      state.stats.observe(now - started, now);
      // An answer from the handler (NOT_FOUND, ...) shows a live endpoint.
      if (!(err instanceof ConnectError && err.code === Code.DeadlineExceeded)) this.#outliers?.onSuccess(state.endpoint.instanceId);
    }
  }

  // Endpoints sharing the failing one's first service: the population the ejection cap applies to.
  #countFor(state: EndpointState): number {
    const service = state.endpoint.services[0];
    return service === undefined ? 1 : this.#discovery.endpoints(service).length;
  }

  #state(endpoint: Endpoint): EndpointState {
    let state = this.#states.get(endpoint.instanceId);
    if (state === undefined) {
      state = {
        endpoint,
        stats: new EndpointStats(this.#averageLatency(performance.now()), this.#options.balancer.decayMs),
        attempts: 0,
        failures: 0,
        transports: new Map(),
      };
      this.#states.set(endpoint.instanceId, state);
    } else if (state.endpoint !== endpoint) {
      state.endpoint = endpoint;
    }
    return state;
  }

  // A newcomer starts at the average of the others, so it neither floods nor starves.
  #averageLatency(now: number): number {
    let sum = 0;
    let n = 0;
    for (const s of this.#states.values()) {
      sum += s.stats.latencyMs(now, this.#options.balancer.initialLatencyMs);
      n++;
    }
    return n === 0 ? this.#options.balancer.initialLatencyMs : sum / n;
  }

  #transport(state: EndpointState, kind: TransportKind): EndpointTransport {
    let t = state.transports.get(kind);
    if (t === undefined) {
      t = this.#makeTransport(state.endpoint, kind);
      state.transports.set(kind, t);
    }
    return t;
  }
}
