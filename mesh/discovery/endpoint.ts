// What a client knows about one instance, and the interface every endpoint source (NATS discovery,
// static config) offers to the mesh client.

/** The load an instance last reported (zeros when it reports none, e.g. static endpoints). */
export interface EndpointLoad {
  /** Calls the instance was handling. */
  readonly inFlight: number;
  /** Event-loop delay (p99 over its last heartbeat interval), in milliseconds. */
  readonly eventLoopDelayMs: number;
  /** Tasks waiting in its worker-pool queue. */
  readonly workerQueueDepth: number;
  /** Its adaptive concurrency limit, 0 when unknown. */
  readonly concurrencyLimit: number;
}

/** One instance that serves one or more services. Immutable: a change replaces the object. */
export interface Endpoint {
  /** Unique id of the instance; the key for balancer state. */
  readonly instanceId: string;
  /** Fully-qualified service names it serves. */
  readonly services: readonly string[];
  /** "host:port" for gRPC / Connect over HTTP/2; empty when it has none. */
  readonly address: string;
  /** Subject prefix for Connect over NATS; empty when it does not serve over NATS. */
  readonly natsSubject: string;
  /** Build version. */
  readonly version: string;
  /** Whether it accepts calls. */
  readonly ready: boolean;
  /** Its last reported load. */
  readonly load: EndpointLoad;
  /**
   * Counts the instance's NATS connections (one more per reconnect); a change means calls sent to it
   * over NATS before may have been lost with its old server. 0 or absent when unknown (static endpoints).
   */
  readonly natsConnection?: number;
}

/** A change to the endpoint table. */
export type DiscoveryEvent =
  | { readonly type: "up"; readonly endpoint: Endpoint }
  | { readonly type: "update"; readonly endpoint: Endpoint }
  | { readonly type: "down"; readonly endpoint: Endpoint; readonly reason: DownReason };

/** Why an endpoint left the table. */
export type DownReason = "leave" | "expired" | "closed";

/** Bounds of {@link EndpointSource.interest}. */
export interface InterestOptions {
  /** Stop waiting (the service stays followed) when this aborts. */
  readonly signal?: AbortSignal;
  /** Stop waiting after this many milliseconds (a call's remaining deadline). */
  readonly timeoutMs?: number;
}

/** A live table of endpoints. */
export interface EndpointSource {
  /** Endpoints currently serving `service` (fully-qualified name), ready or not. */
  endpoints(service: string): readonly Endpoint[];
  /** Calls `listener` on every change; returns a function that stops it. */
  subscribe(listener: (event: DiscoveryEvent) => void): () => void;
  /**
   * Declares that `service` will be called: the source follows it from now on and the promise resolves
   * once its table is known, or when the bounds end (it never rejects). Sources that always know every
   * service resolve at once or leave it out.
   */
  interest?(service: string, options?: InterestOptions): Promise<void>;
  /** Resolves once the initial table is known (at once for static sources). */
  ready(): Promise<void>;
  /** Stops following changes and releases timers and subscriptions. */
  close(): Promise<void>;
}

/** A load report of zeros. */
export const NO_LOAD: EndpointLoad = Object.freeze({
  inFlight: 0,
  eventLoopDelayMs: 0,
  workerQueueDepth: 0,
  concurrencyLimit: 0,
});
