// The Connect `Transport` behind `mesh.client(Service)`: every unary call picks an endpoint, carries
// the remaining deadline, and is retried or hedged only when that is safe and the budget allows.

import type { DescMessage, DescMethodStreaming, DescMethodUnary, DescService, MessageInitShape } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ContextValues, type StreamResponse, type Transport, type UnaryResponse } from "@connectrpc/connect";
import { currentInboundCall, withCallerHeader, type RetryBudget } from "../resilience/index.ts";
import { endClientSpan, peerAttributes, SpanAttributes, SpanEvents, startClientSpan, type MethodMetrics } from "../telemetry/index.ts";
import type { EndpointPool, EndpointState } from "./endpoint-pool.ts";
import type { TransportKind } from "./endpoint-transport.ts";
import { classifyFailure } from "./failure.ts";
import { LatencyTracker } from "./latency-tracker.ts";
import type { ResolvedOptions } from "./options.ts";

/** Counters of one mesh client. */
export interface CallStats {
  /** Calls started. */
  calls: number;
  /** Attempts sent (calls + retries + hedges). */
  attempts: number;
  /** Retries sent. */
  retries: number;
  /** Hedged attempts sent. */
  hedges: number;
  /** Calls that ended in an error. */
  failures: number;
  /** Attempts and streams sent over gRPC in place of NATS, while NATS was down (nats-fallback.ts). */
  fallbackAttempts: number;
}

/** Shared by every service transport of one mesh client. */
export interface MeshCallContext {
  readonly pool: EndpointPool;
  readonly options: ResolvedOptions;
  readonly budget: RetryBudget | undefined;
  readonly stats: CallStats;
  /** Resolves once discovery has its first table. */
  readonly ready: () => Promise<void>;
  /** True while the NATS connection is down and NATS calls fall back to gRPC. */
  readonly natsDown: () => boolean;
}

/** One unary call across its attempts. */
interface UnaryCall {
  readonly method: DescMethodUnary;
  readonly signal: AbortSignal | undefined;
  readonly deadlineAt: number | undefined;
  readonly header: HeadersInit | undefined;
  readonly input: MessageInitShape<DescMessage>;
  readonly contextValues: ContextValues | undefined;
  readonly idempotent: boolean;
  /** Hedge it (a NO_SIDE_EFFECTS method of a service with hedging on). */
  readonly hedge: boolean;
  /** When it started (performance.now()), for the hedging latency percentile. */
  readonly started: number;
  /** Instances tried so far (created at the first retry or hedge). */
  tried: string[] | undefined;
  /** The last attempt's error. */
  last: ConnectError | undefined;
}

/** Creates the transport for one service. */
export function createServiceTransport(ctx: MeshCallContext, service: DescService): Transport {
  const serviceName = service.typeName;
  const metrics = ctx.options.metrics;
  const clientMetrics = metrics?.clientService(serviceName);
  const serviceOptions = ctx.options.services[serviceName] ?? {};
  const configured: TransportKind = serviceOptions.transport ?? ctx.options.defaultTransport;
  // The wire of the next attempt: gRPC in place of NATS while NATS is down.
  const kindNow = (): TransportKind => {
    if (configured !== "nats" || !ctx.natsDown()) return configured;
    stats.fallbackAttempts++;
    return "grpc";
  };
  const hedgingEnabled = serviceOptions.hedging === true;
  const retryOptions = ctx.options.retry;
  const { pool, budget, stats } = ctx;
  const trackers = new Map<string, LatencyTracker>();
  let isReady = false;
  const discovery = ctx.options.discovery;
  // Following the service starts as soon as its transport exists, so a first call rarely waits.
  void ctx.ready().then(() => discovery.interest?.(serviceName)).then(() => {
    isReady = true;
  }, () => undefined);

  // Discovery's first table, then this service's own, the latter within the call's deadline.
  async function waitReady(callerSignal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<void> {
    await ctx.ready();
    if (isReady || discovery.interest === undefined) return;
    const { signal, deadlineAt } = bounds(callerSignal, timeoutMs);
    await discovery.interest(serviceName, { signal, timeoutMs: deadlineAt === undefined ? undefined : deadlineAt - Date.now() });
  }

  function bounds(signal: AbortSignal | undefined, timeoutMs: number | undefined): { signal: AbortSignal | undefined; deadlineAt: number | undefined } {
    let deadlineAt = timeoutMs === undefined || timeoutMs <= 0 ? undefined : Date.now() + timeoutMs;
    if (!ctx.options.propagateDeadlines) return { signal, deadlineAt };
    const inbound = currentInboundCall();
    if (inbound === undefined) return { signal, deadlineAt };
    if (inbound.deadlineAt !== undefined && (deadlineAt === undefined || inbound.deadlineAt < deadlineAt)) deadlineAt = inbound.deadlineAt;
    // A handler usually passes its own call's signal on (it is the inbound one): AbortSignal.any would
    // only add a composite whose FinalizationRegistry cells every young-generation GC then has to scan.
    return { signal: signal === undefined || signal === inbound.signal ? inbound.signal : AbortSignal.any([signal, inbound.signal]), deadlineAt };
  }

  function noEndpoint(): ConnectError {
    return new ConnectError(`no healthy endpoint for ${serviceName}`, Code.Unavailable);
  }

  function deadlineError(last: ConnectError | undefined): ConnectError {
    return last?.code === Code.DeadlineExceeded ? last : new ConnectError("the deadline was exceeded before a reply", Code.DeadlineExceeded, undefined, undefined, last);
  }

  function tracker(method: DescMethodUnary): LatencyTracker {
    let t = trackers.get(method.name);
    if (t === undefined) trackers.set(method.name, (t = new LatencyTracker(ctx.options.hedging.percentile)));
    return t;
  }

  function unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    callerSignal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
    contextValues?: ContextValues,
  ): Promise<UnaryResponse<I, O>> {
    stats.calls++;
    budget?.recordRequest();
    header = withCallerHeader(header);
    const pending = isReady
      ? start(method, callerSignal, timeoutMs, header, input, contextValues)
      : waitReady(callerSignal, timeoutMs).then(() => start(method, callerSignal, timeoutMs, header, input, contextValues));
    return metrics === undefined ? pending : measured(pending, metrics.rpcClient.method(service, method));
  }

  // One call's count, latency and in-flight, around all of its attempts.
  function measured<R>(pending: Promise<R>, m: MethodMetrics): Promise<R> {
    const token = m.begin();
    return pending.then(
      (res) => {
        m.end(token, undefined);
        return res;
      },
      (err: unknown) => {
        m.end(token, ConnectError.from(err));
        throw err;
      },
    );
  }

  function start<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    callerSignal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
    contextValues: ContextValues | undefined,
  ): Promise<UnaryResponse<I, O>> {
    let signal = callerSignal;
    let deadlineAt = timeoutMs === undefined || timeoutMs <= 0 ? undefined : Date.now() + timeoutMs;
    if (ctx.options.propagateDeadlines && currentInboundCall() !== undefined) ({ signal, deadlineAt } = bounds(callerSignal, timeoutMs));
    const idempotency = method.idempotency;
    const hedge = hedgingEnabled && idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
    const call: UnaryCall = {
      method: method as unknown as DescMethodUnary,
      signal,
      deadlineAt,
      header,
      input: input as MessageInitShape<DescMessage>,
      contextValues,
      idempotent: idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS || idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT,
      hedge,
      started: hedge ? performance.now() : 0,
      tried: undefined,
      last: undefined,
    };
    return attempt(call, 0) as unknown as Promise<UnaryResponse<I, O>>;
  }

  // One attempt; a failure decides on a retry, which is the next attempt. Promise-chained rather than
  // an async loop: most calls take one attempt, and an async frame per call showed up in profiles.
  function attempt(call: UnaryCall, n: number): Promise<UnaryResponse> {
    const signal = call.signal;
    if (signal?.aborted) return Promise.reject(fail(ConnectError.from(signal.reason, Code.Canceled)));
    const remaining = call.deadlineAt === undefined ? undefined : call.deadlineAt - Date.now();
    if (remaining !== undefined && remaining <= 0) return Promise.reject(fail(deadlineError(call.last)));
    const kind = kindNow();
    const state = pool.pick(serviceName, kind, call.tried);
    if (state === undefined) return Promise.reject(fail(call.last ?? noEndpoint()));
    stats.attempts++;
    const onError = (err: unknown) => retry(call, n, state, err);
    if (!call.hedge) {
      return send(kind, state, call.method, signal, remaining, call.header, call.input, call.contextValues, n, false).then(undefined, onError);
    }
    (call.tried ??= []).push(state.endpoint.instanceId);
    return hedged(kind, state, call.method, signal, remaining, call.header, call.input, call.contextValues, call.tried, n).then((res) => {
      tracker(call.method).record(performance.now() - call.started);
      return res;
    }, onError);
  }

  // One attempt on an endpoint; with a tracer, inside a CLIENT span whose traceparent goes with it.
  function send<I extends DescMessage, O extends DescMessage>(
    kind: TransportKind,
    state: EndpointState,
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
    contextValues: ContextValues | undefined,
    n: number,
    isHedge: boolean,
  ): Promise<UnaryResponse<I, O>> {
    const tracer = ctx.options.tracer;
    if (tracer === undefined) return pool.unary(state, kind, method, signal, timeoutMs, header, input, contextValues);
    const cs = startClientSpan(tracer, serviceName, method.name, kind, header, () => {
      const attributes = peerAttributes(state.endpoint.address);
      attributes[SpanAttributes.weftInstance] = state.endpoint.instanceId;
      attributes[SpanAttributes.weftAttempt] = n;
      if (isHedge) attributes[SpanAttributes.weftHedge] = true;
      return attributes;
    });
    return pool.unary(state, kind, method, signal, timeoutMs, cs.header, input, contextValues).then(
      (res) => {
        endClientSpan(cs, undefined);
        return res;
      },
      (err: unknown) => {
        if (pool.isEjected(state.endpoint.instanceId)) cs.span.addEvent(SpanEvents.ejected);
        endClientSpan(cs, err);
        throw err;
      },
    );
  }

  function retry(call: UnaryCall, n: number, state: EndpointState, err: unknown): Promise<UnaryResponse> {
    if (!call.hedge) (call.tried ??= []).push(state.endpoint.instanceId);
    const last = (call.last = ConnectError.from(err));
    if (call.signal?.aborted) throw fail(last);
    const f = classifyFailure(err);
    const safe = f.neverReachedHandler || (call.idempotent && f.retryableIfIdempotent);
    if (retryOptions === false || !safe || n + 1 >= retryOptions.maxAttempts) throw fail(last);
    if (!budget!.tryWithdraw()) {
      if (clientMetrics !== undefined) clientMetrics.budgetRefusals.value++;
      throw fail(last);
    }
    stats.retries++;
    if (metrics !== undefined) metrics.rpcClient.method(service, call.method).retries!.value++;
    const backoffMs = Math.random() * Math.min(retryOptions.maxBackoffMs, retryOptions.baseBackoffMs * 2 ** n);
    if (call.deadlineAt !== undefined && Date.now() + backoffMs >= call.deadlineAt) throw fail(last);
    if (backoffMs < 1) return attempt(call, n + 1);
    return sleep(backoffMs, call.signal).then(() => attempt(call, n + 1));
  }

  function fail(err: ConnectError): ConnectError {
    stats.failures++;
    return err;
  }

  // Runs the first attempt; if it is still out after the method's latency percentile, sends one more to
  // another endpoint. The first success wins and the other is cancelled.
  function hedged<I extends DescMessage, O extends DescMessage>(
    kind: TransportKind,
    first: EndpointState,
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
    contextValues: ContextValues | undefined,
    tried: string[],
    n: number,
  ): Promise<UnaryResponse<I, O>> {
    const t = tracker(method as unknown as DescMethodUnary);
    const delay = t.count >= ctx.options.hedging.minSamples ? Math.max(ctx.options.hedging.minDelayMs, t.value()) : Number.NaN;
    if (Number.isNaN(delay) || (timeoutMs !== undefined && delay >= timeoutMs)) {
      return send(kind, first, method, signal, timeoutMs, header, input, contextValues, n, false);
    }
    return new Promise((resolve, reject) => {
      const controllers: AbortController[] = [];
      let running = 0;
      let done = false;
      const finish = () => {
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        for (const c of controllers) c.abort(new ConnectError("hedged attempt superseded", Code.Canceled));
      };
      const onAbort = () => {
        if (done) return;
        finish();
        reject(ConnectError.from(signal!.reason, Code.Canceled));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const launch = (state: EndpointState, remaining: number | undefined, isHedge: boolean) => {
        const ac = new AbortController();
        controllers.push(ac);
        running++;
        send(kind, state, method, ac.signal, remaining, header, input, contextValues, n, isHedge).then(
          (res) => {
            if (done) return;
            finish();
            resolve(res);
          },
          (err) => {
            running--;
            if (done) return;
            const f = classifyFailure(err);
            if ((!f.retryableIfIdempotent && !f.neverReachedHandler) || running === 0) {
              finish();
              reject(err);
            }
          },
        );
      };
      launch(first, timeoutMs, false);
      const startedAt = Date.now();
      const timer = setTimeout(() => {
        if (done) return;
        const second = pool.pick(serviceName, kind, tried);
        if (second === undefined || tried.includes(second.endpoint.instanceId) || budget === undefined) return;
        if (!budget.tryWithdraw()) {
          if (clientMetrics !== undefined) clientMetrics.budgetRefusals.value++;
          return;
        }
        tried.push(second.endpoint.instanceId);
        stats.hedges++;
        if (metrics !== undefined) metrics.rpcClient.method(service, method).hedges!.value++;
        stats.attempts++;
        launch(second, timeoutMs === undefined ? undefined : timeoutMs - (Date.now() - startedAt), true);
      }, delay);
    });
  }

  return {
    unary,
    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      callerSignal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      stats.calls++;
      header = withCallerHeader(header);
      if (!isReady) await waitReady(callerSignal, timeoutMs);
      const { signal, deadlineAt } = bounds(callerSignal, timeoutMs);
      const remaining = deadlineAt === undefined ? undefined : deadlineAt - Date.now();
      if (remaining !== undefined && remaining <= 0) throw fail(deadlineError(undefined));
      const kind = kindNow();
      const state = pool.pick(serviceName, kind, undefined);
      if (state === undefined) throw fail(noEndpoint());
      stats.attempts++;
      // The span covers opening the stream (the messages are the caller's to time).
      const cs = ctx.options.tracer === undefined ? undefined : startClientSpan(ctx.options.tracer, serviceName, method.name, kind, header, () => peerAttributes(state.endpoint.address));
      try {
        const res = await pool.stream(state, kind, method, signal, remaining, cs?.header ?? header, input, contextValues);
        if (cs !== undefined) endClientSpan(cs, undefined);
        return res;
      } catch (err) {
        if (cs !== undefined) endClientSpan(cs, err);
        throw fail(ConnectError.from(err));
      }
    },
  };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(ConnectError.from(signal!.reason, Code.Canceled));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
