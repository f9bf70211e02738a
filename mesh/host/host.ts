// The Weft service host: registered services on one port, over every protocol, with health,
// reflection, admin, CORS, limits and a graceful drain. The wire engine is pluggable (engine.ts).

import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl, type Transport } from "@connectrpc/connect";
import { performance } from "node:perf_hooks";
import { createAdminService, AdminService, instanceSnapshot, type AdminStatusSource } from "./admin.ts";
import type { InstanceSnapshot } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { createInProcessTransport, createWeftEngine, type InProcessTransportOptions } from "../protocol/index.ts";
import { createCorsPolicy, type EngineAttachment, type EngineContext, type ServiceRegistration, type WireEngine, createFallbackRoute, type FallbackRoute, composeCallHooks, createCallGate, InFlightTracker, createJsonLogger, type HostLogger } from "../engine/index.ts";
import { DrainSequence, type DrainHook, type DrainPhase } from "./drain.ts";
import { HostError, HostErrorCode } from "./errors.ts";
import { isMetricsPath, withMetricsRoute } from "./metrics-route.ts";
import { createHealthService, Health, HealthRegistry, type HostHealth } from "./health.ts";
import { applyServerV8Flags } from "./gc-tuning.ts";
import { holdIdleHeapWatch } from "./idle-heap-release.ts";
import { resolveHostOptions, type HostOptions, type ResolvedHostOptions } from "./options.ts";
import { PortListener } from "./port-listener.ts";
import {
  createReflectionIndex,
  createReflectionV1,
  createReflectionV1alpha,
  ServerReflectionV1,
  ServerReflectionV1alpha,
} from "./reflection.ts";

const mb = (bytes: number) => Math.round(bytes / 1048576);

/** Where a listening host can be reached. */
export interface HostAddress {
  /** Base URL for clients, e.g. "http://127.0.0.1:8080". */
  readonly url: string;
  /** The bound port (the real one when `port` was 0). */
  readonly port: number;
}

/** A service host. Build with `createHost`, `register` services, then `listen`. */
export interface Host {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedHostOptions;
  /** The name of the wire engine serving calls ("weft" by default). */
  readonly engineName: string;
  /** Per-service health, as served by grpc.health.v1.Health ("" is the whole server). */
  readonly health: HostHealth;
  /** Calls in progress (the host's own health/reflection/admin calls are not counted). */
  readonly inFlight: number;
  /** True once a drain has begun. */
  readonly draining: boolean;
  /** The address, once listening. */
  readonly address: HostAddress | undefined;
  /** This instance's admin snapshot (identity, load, per-method RED figures), as AdminService.GetInstance reports it. */
  instanceSnapshot(): InstanceSnapshot;
  /**
   * Adds a service. Allowed until `listen()` or the first call through `inProcessTransport()`.
   * Methods missing from `impl` answer UNIMPLEMENTED.
   */
  register<T extends DescService>(service: T, impl: Partial<ServiceImpl<T>>): this;
  /** Opens the port and serves. Throws HostError WEFT_ERR_HOST_LISTEN when the port cannot be bound. */
  listen(): Promise<HostAddress>;
  /**
   * A Connect transport that calls the registered services in memory (no sockets), through the same
   * interceptors, limits and drain admission as network calls.
   */
  inProcessTransport(options?: InProcessTransportOptions): Transport;
  /** Adds a step to the drain (see DrainPhase); it runs after the built-in step of its phase. */
  onDrain(phase: DrainPhase, name: string, run: () => void | Promise<void>): void;
  /**
   * Drains: health NOT_SERVING, new calls refused with UNAVAILABLE, in-flight calls finish (up to
   * `drainGraceMs`, then they are aborted), the listener closes. Idempotent: returns the same promise.
   */
  drain(): Promise<void>;
  /** Closes at once: in-flight calls are aborted with UNAVAILABLE, the port is closed. Idempotent. */
  close(): Promise<void>;
  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The services every host serves itself. */
const INFRASTRUCTURE_SERVICES: readonly DescService[] = [Health, ServerReflectionV1, ServerReflectionV1alpha, AdminService];

/** Erases a registration's service type (the engine serves any service). */
function registration<T extends DescService>(service: T, impl: Partial<ServiceImpl<T>>): ServiceRegistration {
  return { service, impl: impl as unknown as Partial<ServiceImpl<DescService>> };
}

/** `impl` with `guard` run before each handler (no guard: `impl` itself). */
function guarded<T extends object>(guard: ((context: HandlerContext) => void) | undefined, impl: T): T {
  if (guard === undefined) return impl;
  const out: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(impl) as Array<[string, (req: unknown, ctx: HandlerContext) => unknown]>) {
    out[name] = (req: unknown, ctx: HandlerContext) => {
      guard(ctx);
      return handler(req, ctx);
    };
  }
  return out as T;
}

class WeftHost implements Host {
  readonly options: ResolvedHostOptions;
  readonly #engine: WireEngine;
  readonly #logger: HostLogger;
  readonly #registrations: ServiceRegistration[] = [];
  readonly #healthRegistry = new HealthRegistry();
  readonly #inFlight = new InFlightTracker();
  readonly #shutdown = new AbortController();
  readonly #drainSequence = new DrainSequence();
  #sealed = false;
  #draining = false;
  #listener: PortListener | undefined;
  #attachment: EngineAttachment | undefined;
  #address: HostAddress | undefined;
  #listenedAt: number | undefined;
  #drainPromise: Promise<void> | undefined;
  #closePromise: Promise<void> | undefined;
  #allServices: readonly ServiceRegistration[] | undefined;
  #letGoOfIdleHeapWatch: (() => void) | undefined;

  constructor(options: HostOptions) {
    this.options = resolveHostOptions(options);
    if (this.options.tuneGc) {
      applyServerV8Flags();
      this.#letGoOfIdleHeapWatch = holdIdleHeapWatch((r) =>
        this.#logger.info("idle heap released", { rssMb: mb(r.rssBeforeBytes), heapMbBefore: mb(r.committedBeforeBytes), heapMbAfter: mb(r.committedAfterBytes), gcMs: Math.round(r.gcMs) }),
      );
    }
    this.#engine = this.options.engine ?? createWeftEngine();
    this.#logger = this.options.logger ?? createJsonLogger("weft.host");
    this.#drainSequence.add({ name: "health-not-serving", phase: "announce", run: () => this.#healthRegistry.setAllNotServing() });
    this.#drainSequence.add({
      name: "refuse-new-calls",
      phase: "refuse",
      run: () => {
        this.#draining = true;
        this.#listener?.startDraining();
      },
    });
    this.#drainSequence.add({ name: "wait-in-flight", phase: "settle", run: () => this.#settle() });
    this.#drainSequence.add({ name: "close-listener", phase: "close", run: () => this.close() });
  }

  get engineName(): string {
    return this.#engine.name;
  }

  get health(): HostHealth {
    return this.#healthRegistry;
  }

  get inFlight(): number {
    return this.#inFlight.count;
  }

  get draining(): boolean {
    return this.#draining;
  }

  get address(): HostAddress | undefined {
    return this.#address;
  }

  instanceSnapshot(): InstanceSnapshot {
    return instanceSnapshot(this.#adminSource());
  }

  #adminSourceCache: AdminStatusSource | undefined;

  #adminSource(): AdminStatusSource {
    if (this.#adminSourceCache !== undefined) return this.#adminSourceCache;
    const host = this;
    const user = this.#registrations.map((r) => r.service);
    this.#adminSourceCache = {
      instanceId: this.options.instanceId,
      version: this.options.version,
      serviceNames: user.map((s) => s.typeName),
      served: [...user, ...INFRASTRUCTURE_SERVICES],
      health: this.#healthRegistry,
      uptimeMs: () => (host.#listenedAt === undefined ? 0 : performance.now() - host.#listenedAt),
      inFlight: () => host.#inFlight.count,
      draining: () => host.#draining,
      extensions: this.options.admin,
    };
    return this.#adminSourceCache;
  }

  register<T extends DescService>(service: T, impl: Partial<ServiceImpl<T>>): this {
    if (this.#sealed) {
      throw new HostError(HostErrorCode.state, `register(${service?.typeName}): services must be registered before listen() and before the first in-process call`);
    }
    if (service?.kind !== "service") {
      throw new HostError(HostErrorCode.options, "register: the first argument must be a service descriptor from generated code");
    }
    if (typeof impl !== "object" || impl === null) {
      throw new HostError(HostErrorCode.options, `register(${service.typeName}): the implementation must be an object of handlers`);
    }
    const name = service.typeName;
    if (INFRASTRUCTURE_SERVICES.some((s) => s.typeName === name) || this.#registrations.some((r) => r.service.typeName === name)) {
      throw new HostError(HostErrorCode.duplicateService, `register(${name}): this service is already served by the host`);
    }
    this.#registrations.push(registration(service, impl));
    this.#healthRegistry.add(name);
    return this;
  }

  async listen(): Promise<HostAddress> {
    if (this.#listener !== undefined || this.#closePromise !== undefined) {
      throw new HostError(HostErrorCode.state, "listen(): the host is already listening or closed");
    }
    const { options } = this;
    const served = new Set(this.#registrations.flatMap(({ service }) => [service.typeName, ...service.methods.map((m) => `${service.typeName}/${m.name}`)]));
    const unknown = Object.keys(options.methodReadMaxBytes).filter((key) => !served.has(key));
    if (unknown.length > 0) {
      throw new HostError(HostErrorCode.options, `options.methodReadMaxBytes: ${unknown.map((k) => JSON.stringify(k)).join(", ")} names no registered service or method`);
    }
    const listener = new PortListener({
      maxHeaderListBytes: options.maxHeaderListBytes,
      maxConcurrentStreams: options.maxConcurrentStreams,
      idleTimeoutMs: options.idleTimeoutMs,
      firstRequestTimeoutMs: options.firstRequestTimeoutMs,
      requestBodyTimeoutMs: options.requestBodyTimeoutMs,
      maxConnections: options.maxConnections,
      maxRequestBytes: Math.max(options.readMaxBytes, ...Object.values(options.methodReadMaxBytes)),
      logger: this.#logger,
      tls: options.tls,
      maxConnectionAgeMs: options.maxConnectionAgeMs,
    });
    this.#listener = listener;
    this.#attachment = this.#engine.attach(listener, this.#engineContext());
    const port = await listener.listen(options.hostname, options.port);
    this.#listenedAt = performance.now();
    const host = options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname;
    this.#address = Object.freeze({ url: `${options.tls === undefined ? "http" : "https"}://${host}:${port}`, port });
    this.#logger.info("listening", { url: this.#address.url, engine: this.#engine.name, services: this.#registrations.map((r) => r.service.typeName) });
    return this.#address;
  }

  inProcessTransport(options: InProcessTransportOptions = {}): Transport {
    let transport: Transport | undefined;
    const get = () => {
      if (transport === undefined) {
        // In-process calls are made on behalf of calls already admitted (the gateway calling identity),
        // so a drain must not refuse them, or in-flight calls would fail half-way; they are still counted.
        transport = createInProcessTransport(this.#engineContext({ inProcess: true }), options);
      }
      return transport;
    };
    // Built at the first call, so services may be registered after the transport is handed out.
    return {
      unary: (...args) => get().unary(...args),
      stream: (...args) => get().stream(...args),
    };
  }

  onDrain(phase: DrainPhase, name: string, run: () => void | Promise<void>): void {
    const hook: DrainHook = { name, phase, run };
    this.#drainSequence.add(hook);
  }

  drain(): Promise<void> {
    this.#drainPromise ??= (async () => {
      this.#logger.info("drain started", { inFlight: this.#inFlight.count, graceMs: this.options.drainGraceMs });
      await this.#drainSequence.run(this.#logger);
      this.#logger.info("drained");
    })();
    return this.#drainPromise;
  }

  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      this.#sealed = true;
      this.#draining = true;
      this.#letGoOfIdleHeapWatch?.();
      this.#healthRegistry.setAllNotServing();
      // Ends health Watch streams and any call still running, with a clear code for the caller.
      this.#shutdown.abort(new ConnectError("server is shutting down", Code.Unavailable));
      await this.#listener?.close();
      this.#attachment?.detach();
    })();
    return this.#closePromise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #settle(): Promise<void> {
    const idle = await this.#inFlight.idle(this.options.drainGraceMs);
    if (!idle) {
      this.#logger.error("drain grace period over; aborting calls still in flight", { inFlight: this.#inFlight.count });
    }
  }

  #engineContext({ inProcess = false }: { inProcess?: boolean } = {}): EngineContext {
    this.#sealed = true;
    const { options } = this;
    const host = this;
    const infrastructure = new Set(INFRASTRUCTURE_SERVICES.map((s) => s.typeName));
    return {
      services: this.#services(),
      interceptors: options.interceptors,
      calls: createCallGate({
        get draining() {
          return !inProcess && host.#draining;
        },
        inFlight: this.#inFlight,
        infrastructure,
        logger: this.#logger,
      }),
      hooks: composeCallHooks(options.callHooks, infrastructure),
      limits: {
        readMaxBytes: options.readMaxBytes,
        jsonReadMaxBytes: Math.min(options.jsonReadMaxBytes, options.readMaxBytes),
        methodReadMaxBytes: options.methodReadMaxBytes,
        maxJsonDepth: options.maxJsonDepth,
        maxDecompressionRatio: options.maxDecompressionRatio,
        requestBodyTimeoutMs: options.requestBodyTimeoutMs,
        writeMaxBytes: options.writeMaxBytes,
        maxTimeoutMs: options.maxTimeoutMs,
      },
      cors: createCorsPolicy(options.corsAllowedOrigins),
      shutdownSignal: this.#shutdown.signal,
      logger: this.#logger,
      fallback: this.#fallback(),
    };
  }

  /** The plain-HTTP route: `/metrics` when the host has metrics, then the user's fallback. */
  #fallback(): FallbackRoute | undefined {
    const { httpFallback, metrics } = this.options;
    if (metrics === undefined) return httpFallback === undefined ? undefined : createFallbackRoute(httpFallback, this.#rpcPaths(), this.#logger);
    const route = createFallbackRoute(withMetricsRoute(metrics, httpFallback, this.#logger), this.#rpcPaths(), this.#logger);
    if (httpFallback !== undefined) return route;
    // Without a user fallback only /metrics leaves the engine: other paths keep the engine's answer.
    return { ...route, matches: (method, rawPath) => isMetricsPath(rawPath) && route.matches(method, rawPath) };
  }

  /** Every served method's path ("/pkg.Service/Method"): requests for these never reach the fallback. */
  #rpcPaths(): ReadonlySet<string> {
    const paths = new Set<string>();
    for (const { service } of this.#services()) for (const method of service.methods) paths.add(`/${service.typeName}/${method.name}`);
    return paths;
  }

  #services(): readonly ServiceRegistration[] {
    if (this.#allServices !== undefined) return this.#allServices;
    const user = [...this.#registrations];
    const index = createReflectionIndex([...user.map((r) => r.service), ...INFRASTRUCTURE_SERVICES]);
    const infrastructure: ServiceRegistration[] = [
      registration(Health, createHealthService(this.#healthRegistry)),
      registration(ServerReflectionV1, createReflectionV1(index)),
      registration(ServerReflectionV1alpha, createReflectionV1alpha(index)),
      registration(
        AdminService,
        guarded(this.options.guardAdmin, createAdminService(this.#adminSource())),
      ),
    ];
    this.#allServices = Object.freeze([...user, ...infrastructure]);
    return this.#allServices;
  }
}

/**
 * Creates a service host. Options are validated here: an invalid one throws HostError
 * WEFT_ERR_HOST_OPTIONS naming the field.
 */
export function createHost(options: HostOptions = {}): Host {
  return new WeftHost(options);
}
