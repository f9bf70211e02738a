// RPC metrics of one side (server or client): per (service, method) the cells are resolved at the
// method's first call, per code at the code's first occurrence; a call then costs a few array and field
// updates. Label values come from descriptors and stay bounded: a method its service does not declare,
// or a service past `maxServices`, is recorded as `unknown`.

import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import type { CounterFamily, GaugeFamily, HistogramCell, HistogramFamily, ValueCell } from "./metrics-cells.ts";
import { rpcCodeNames, UNKNOWN_LABEL_VALUE } from "./names.ts";

/** The cells of one (service, method) on one side. */
export class MethodMetrics {
  readonly service: string;
  readonly method: string;
  /** Calls in progress. */
  readonly inFlight: ValueCell;
  /** Retry attempts (client side only). */
  readonly retries: ValueCell | undefined;
  /** Hedged attempts (client side only). */
  readonly hedges: ValueCell | undefined;
  readonly #side: RpcSideMetrics;
  readonly #counts: (ValueCell | undefined)[] = new Array(rpcCodeNames.length).fill(undefined);
  readonly #durations: (HistogramCell | undefined)[] = new Array(rpcCodeNames.length).fill(undefined);
  /** Free call tokens, reused so that a call allocates nothing. */
  readonly #tokens: CallToken[] = [];

  constructor(side: RpcSideMetrics, service: string, method: string) {
    this.#side = side;
    this.service = service;
    this.method = method;
    this.inFlight = side.inFlight.cell(service, method);
    this.retries = side.retries?.cell(service, method);
    this.hedges = side.hedges?.cell(service, method);
  }

  /** Records a call's end: `code` is the Connect code number (0 = ok), `seconds` its duration. */
  record(code: number, seconds: number): void {
    const c = code >= 0 && code < rpcCodeNames.length ? code : 2; // 2 = unknown
    let count = this.#counts[c];
    let duration = this.#durations[c];
    if (count === undefined || duration === undefined) {
      count = this.#counts[c] = this.#side.requests.cell(this.service, this.method, rpcCodeNames[c]);
      duration = this.#durations[c] = this.#side.duration.cell(this.service, this.method, rpcCodeNames[c]);
    }
    count.value++;
    duration.observe(seconds);
  }

  /** Starts a call: counts it in flight and returns its token for {@link end}. */
  begin(): CallToken {
    this.inFlight.value++;
    const token = this.#tokens.pop() ?? new CallToken(this);
    token.started = performance.now();
    return token;
  }

  /** Ends a call begun with {@link begin}; the token goes back to the free list. */
  end(token: CallToken, error: ConnectError | undefined): void {
    this.inFlight.value--;
    this.record(error === undefined ? 0 : error.code, (performance.now() - token.started) / 1000);
    if (this.#tokens.length < MAX_FREE_TOKENS) this.#tokens.push(token);
  }
}

/** Free tokens kept per method: enough for the calls one method has in flight at once. */
const MAX_FREE_TOKENS = 1024;

/** One call between `begin` and `end`. */
export class CallToken {
  readonly metrics: MethodMetrics;
  started = 0;

  constructor(metrics: MethodMetrics) {
    this.metrics = metrics;
  }
}

/** The families of one side. */
export interface RpcSideFamilies {
  readonly requests: CounterFamily;
  readonly duration: HistogramFamily;
  readonly inFlight: GaugeFamily;
  readonly retries?: CounterFamily;
  readonly hedges?: CounterFamily;
}

/** RPC metrics of one side: the resolved cells per method descriptor. */
export class RpcSideMetrics {
  readonly requests: CounterFamily;
  readonly duration: HistogramFamily;
  readonly inFlight: GaugeFamily;
  readonly retries: CounterFamily | undefined;
  readonly hedges: CounterFamily | undefined;
  readonly #maxServices: number;
  readonly #byMethod = new Map<DescMethod, MethodMetrics>();
  readonly #byName = new Map<string, MethodMetrics>();
  readonly #services = new Set<string>();

  constructor(families: RpcSideFamilies, maxServices: number) {
    this.requests = families.requests;
    this.duration = families.duration;
    this.inFlight = families.inFlight;
    this.retries = families.retries;
    this.hedges = families.hedges;
    this.#maxServices = maxServices;
  }

  /** The cells for `method` of `service` (`unknown` labels when the service does not declare it). */
  method(service: DescService, method: DescMethod): MethodMetrics {
    // A method's descriptor belongs to one service: only those are remembered by descriptor, so a
    // foreign one can neither grow the map nor pick up another service's cells.
    if (method.parent !== service) return this.#resolve(service.typeName, UNKNOWN_LABEL_VALUE);
    let m = this.#byMethod.get(method);
    if (m === undefined) {
      m = this.#resolve(service.typeName, service.methods.includes(method) ? method.name : UNKNOWN_LABEL_VALUE);
      this.#byMethod.set(method, m);
    }
    return m;
  }

  /** The cells for a service and a declared method name; services past `maxServices` become `unknown`. */
  #resolve(serviceName: string, methodName: string): MethodMetrics {
    const service = this.#services.has(serviceName) || this.#services.size < this.#maxServices ? serviceName : UNKNOWN_LABEL_VALUE;
    if (service === UNKNOWN_LABEL_VALUE) methodName = UNKNOWN_LABEL_VALUE;
    const key = `${service}/${methodName}`;
    let m = this.#byName.get(key);
    if (m === undefined) {
      if (service !== UNKNOWN_LABEL_VALUE) this.#services.add(service);
      this.#byName.set(key, (m = new MethodMetrics(this, service, methodName)));
    }
    return m;
  }
}
