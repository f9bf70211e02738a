// One distributed mesh process: a host serving the given services over HTTP/2 (and Connect over NATS),
// announced in discovery, shedding load adaptively, calling other services through a mesh client, and
// draining in order on SIGTERM: leave discovery -> refuse -> finish in-flight -> close.

import { setTimeout as sleep } from "node:timers/promises";
import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Tracer } from "@opentelemetry/api";
import { connect, type Authenticator, type NatsConnection } from "@nats-io/transport-node";
import type { Redis, RedisOptions } from "ioredis";
import { createMeshClient, type MeshClient } from "../client/index.ts";
import { createAnnouncer, createNatsDiscovery, type NatsDiscovery } from "../discovery/index.ts";
import { createHost, createJsonLogger, type Host, type HostLogger, type HttpFallback, type ServerCallHooks } from "../host/index.ts";
import { createNatsRpcServer } from "../nats-rpc/index.ts";
import { WeftError } from "../errors/index.ts";
import { createEventFlows, type EventFlows } from "../events/index.ts";
import { openRedis, redisClientOptions, waitForRedisReady } from "../redis/index.ts";
import { callerOf, createEventStreamsReader, createEventTail, createMeshAggregator, redAdminExtensions, startGatherResponder } from "../ops/index.ts";
import { createMetrics, createRedRecorder, createServerMetricsHooks, createTracingCallHooks, startTracing, type Metrics, type Tracing } from "../telemetry/index.ts";
import {
  createConcurrencyLimiter,
  createEventLoopMonitor,
  createEventLoopGuard,
  createInboundCallHooks,
  createLoadSheddingHooks,
  refusedError,
  type ConcurrencyLimiter,
} from "../resilience/index.ts";
import {
  createAuthorization,
  createEndUserVerifier,
  createInsecureEndUserHooks,
  createWorkloadTls,
  hostTlsOptions,
  meshClientTls,
  natsInboxPrefix,
  natsInstanceSubject,
  readNatsAuthenticator,
  type Authorization,
  type AuthorizationTable,
  type WorkloadTls,
} from "../security/index.ts";
import type { Http2EndpointOptions } from "../client/index.ts";
import type { Endpoint } from "../discovery/index.ts";
import type { HostTlsOptions } from "../host/index.ts";
import { MeshConfigError, type MeshNodeConfig } from "./node-config.ts";
import { createStartupClock, type StartupTimings } from "./startup-clock.ts";

/** A service and its handlers. */
export interface NodeService {
  readonly service: DescService;
  readonly impl: Partial<ServiceImpl<DescService>>;
}

/** Pairs a service with its handlers (erasing the service type, as the host does). */
export function nodeService<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): NodeService {
  return { service, impl: impl as unknown as Partial<ServiceImpl<DescService>> };
}

/** What a node's service factory gets to build its handlers with. */
export interface MeshNodeContext {
  readonly config: MeshNodeConfig;
  /** The process's NATS connection (events, discovery). */
  readonly nc: NatsConnection;
  /** Typed clients of other services: `mesh.client(CatalogService)`. */
  readonly mesh: MeshClient;
  /** Redis, when REDIS_URL is set. */
  readonly redis: Redis | undefined;
  /** The process's metrics (hand them to caches, event buses, pools), or undefined with WEFT_METRICS=off. */
  readonly metrics: Metrics | undefined;
  /** The process's tracer when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT set), for events, caches and pools. */
  readonly tracer: Tracer | undefined;
  /** The process's tracing SDK when on (worker pools hand it the spans their threads record). */
  readonly tracing: Tracing | undefined;
  /** Where event buses record the streams they publish to and consume from (give it to createJetStreamEventBus as `flows`). */
  readonly eventFlows: EventFlows;
  /** Registers a resource release for the end of the drain (after in-flight calls). */
  onClose(release: () => void | Promise<void>): void;
  /** This workload's mutual TLS (credentials, rotation), when MESH_TLS_DIR is set. */
  readonly workloadTls: WorkloadTls | undefined;
  /** The compiled policies, when given. */
  readonly policies: AuthorizationTable | undefined;
}

/** Options of {@link startMeshNode}. */
export interface MeshNodeOptions {
  readonly config: MeshNodeConfig;
  /** Builds the services this process serves. */
  readonly services: (ctx: MeshNodeContext) => readonly NodeService[] | Promise<readonly NodeService[]>;
  /** Reports the worker-pool queue depth for load announcements. Default: 0. */
  readonly workerQueueDepth?: () => number;
  /** The host's logger. Default: the host's JSON logger. */
  readonly logger?: HostLogger;
  /** ioredis options of the REDIS_URL connection. Default: mesh/redis `redisClientOptions`. */
  readonly redisOptions?: RedisOptions;
  /**
   * The mesh's compiled authorization policies. Required with MESH_TLS_DIR: the host then enforces them
   * (call hooks, default deny) and the client expects each endpoint to prove the identity of the
   * workload that serves it. Default: none.
   */
  readonly policies?: AuthorizationTable;
  /** The host's read limits per service or method (HostOptions.methodReadMaxBytes). Default {}. */
  readonly methodReadMaxBytes?: Readonly<Record<string, number>>;
  /** Plain HTTP for non-RPC GET/HEAD requests (HostOptions.httpFallback), e.g. a JWKS route. Default none. */
  readonly httpFallback?: HttpFallback;
  /**
   * This service's own call hooks (the gateway's rate limits), built once Redis is connected: they run
   * after authorization (a refused caller spends nothing) and before load shedding, on HTTP and NATS.
   * Default none.
   */
  readonly callHooks?: (ctx: { readonly redis: Redis | undefined; readonly metrics: Metrics | undefined }) => readonly ServerCallHooks[];
  /** How long start-up waits for NATS, then for Redis, in milliseconds. Default 5,000 each. */
  readonly connectTimeoutMs?: number;
}

/** Default of {@link MeshNodeOptions.connectTimeoutMs}. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Options of {@link connectNats}. */
export interface ConnectNatsOptions {
  /** NATS servers, comma-separated (the NATS_URL setting). */
  readonly servers: string;
  /** Connection name shown by the server. Default: none. */
  readonly name?: string;
  /** How long to wait for the first connection, in milliseconds. Default 5,000. */
  readonly timeoutMs?: number;
  /** Proves the connection's NATS user (an nkey, MESH_NATS_NKEY_FILE). Default: none (no credentials). */
  readonly authenticator?: Authenticator;
  /** Prefix of the connection's reply inboxes (nats.js `inboxPrefix`). Default "_INBOX". */
  readonly inboxPrefix?: string;
}

/** Interval of the NATS connection's pings, in milliseconds (nats.js's default is 2 minutes). */
const NATS_PING_MS = 5000;

/**
 * Connects to NATS (reconnecting for ever once connected); a failed first connection becomes a WeftError
 * WEFT_ERR_NATS_UNREACHABLE naming NATS_URL (nats.js's own error stays the cause, never printed).
 */
export async function connectNats(options: ConnectNatsOptions): Promise<NatsConnection> {
  const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
  try {
    return await connect({
      // Every server of the cluster: the first connection takes any that answers (nats.js shuffles the
      // list, spreading clients), and the servers a cluster gossips are added for reconnects.
      servers: options.servers.split(",").map((s) => s.trim()).filter((s) => s !== ""),
      name: options.name,
      noAsyncTraces: true,
      // Once connected, never give up: a lost server is replaced by another of the list at once (only a
      // server tried within the last reconnectTimeWait is waited for, plus up to reconnectJitter).
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      // No server at start-up is a configuration error reported in one line, not a silent wait.
      waitOnFirstConnect: false,
      // A server that hangs without closing the socket is found after 2 unanswered pings: the bound on
      // how long calls over NATS wait before the mesh client falls back to gRPC.
      pingInterval: NATS_PING_MS,
      maxPingOut: 2,
      timeout: timeoutMs,
      authenticator: options.authenticator,
      inboxPrefix: options.inboxPrefix,
    });
  } catch (err) {
    throw new WeftError(
      "WEFT_ERR_NATS_UNREACHABLE",
      `NATS (NATS_URL) did not answer within ${timeoutMs} ms, set NATS_URL to a running NATS server such as nats://127.0.0.1:4222 (npm run services starts one)`,
      { cause: err },
    );
  }
}

/** Logs Redis connection errors once per outage (ioredis prints "Unhandled error event" without a listener). */
function watchRedis(redis: Redis, logger: HostLogger | undefined): void {
  let reported = false;
  redis.on("ready", () => {
    reported = false;
  });
  redis.on("error", (err: Error) => {
    if (reported) return;
    reported = true;
    logger?.error("redis connection failed; retrying", { error: err.message });
  });
}

/** A running mesh process. */
export interface MeshNode {
  readonly host: Host;
  readonly mesh: MeshClient;
  readonly discovery: NatsDiscovery;
  readonly limiter: ConcurrencyLimiter;
  /** The process's metrics (served at `/metrics`), or undefined with WEFT_METRICS=off. */
  readonly metrics: Metrics | undefined;
  /** The tracing SDK when on (shut down, flushing its spans, at the end of the drain). */
  readonly tracing: Tracing | undefined;
  /** "host:port" announced for HTTP/2 callers. */
  readonly address: string;
  /** How long each phase of the start took, in ms (log it with the "listening" line). */
  readonly startup: StartupTimings;
  /** Drains (leave, refuse, finish in-flight, close) and releases everything. */
  drain(): Promise<void>;
}

/** Starts a mesh process: returns once it listens and is announced. */
export async function startMeshNode(options: MeshNodeOptions): Promise<MeshNode> {
  const { config } = options;
  const clock = createStartupClock();
  // Tracing first, so everything created after it can trace (and nothing loads its SDK when it is off).
  const tracing = await startTracing(config.tracing, {
    instanceId: config.instanceId,
    onError: (err) => options.logger?.error("trace export failed", { error: String(err) }),
  });
  const tracer = tracing?.tracer;
  clock.lap("tracing");
  const connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  // With a NATS user, replies come to this workload's own inbox: the only one its permissions let it read.
  const natsUser = config.natsNkeyFile === undefined ? undefined : { authenticator: await readNatsAuthenticator(config.natsNkeyFile), inboxPrefix: natsInboxPrefix(config.workload) };
  const nc = await connectNats({ servers: config.natsUrl, name: config.instanceId, timeoutMs: connectTimeoutMs, ...natsUser });
  clock.lap("nats");
  let redis: Redis | undefined;
  if (config.redisUrl !== undefined) {
    // One server or a Sentinel group; ioredis is loaded only then, so a process without REDIS_URL never pays for it.
    redis = await openRedis(config.redisUrl, options.redisOptions ?? redisClientOptions);
    watchRedis(redis, options.logger);
    try {
      await waitForRedisReady(redis, { timeoutMs: connectTimeoutMs });
    } catch (err) {
      redis.disconnect();
      await nc.close();
      throw err;
    }
  }
  clock.lap("redis");
  const metrics = config.metrics ? createMetrics() : undefined;
  clock.lap("metrics");
  // Follows only the services this process calls: the mesh client declares each one on first use.
  const discovery = createNatsDiscovery({ nc, subjectPrefix: config.registryPrefix, services: [] });
  const security = await startSecurity(config, options.policies, options.logger);
  clock.lap("security");
  const mesh = createMeshClient({
    discovery, nc, defaultTransport: config.transport, tracer, metrics, http2: security?.clientTls,
    natsCaller: config.workload, natsInboxPrefix: natsUser?.inboxPrefix, logger: options.logger,
  });
  const eventLoop = createEventLoopMonitor();
  // Not fed the event-loop delay: it counts refusals' cost and neighbours' CPU as load, and cut the
  // limit below a closed loop's callers, whose refusals then kept the delay high (the guard sees CPU).
  const limiter = createConcurrencyLimiter({
    maxLimit: config.concurrencyLimitMax,
    initialLimit: Math.min(config.concurrencyLimitMax, 100),
  });
  // One event-loop guard for the process (one loop); the same hooks serve HTTP and Connect over NATS.
  const eventLoopGuard = createEventLoopGuard();
  const shedding = createLoadSheddingHooks({ limiter, eventLoopGuard, metrics });
  const inbound = createInboundCallHooks();
  // Without credentials (development only) the end user travels as a plain header.
  const insecureEndUser = createInsecureEndUserHooks();
  // Outermost, so that refused calls are traced too; one instance serves HTTP and NATS.
  const tracingHooks: ServerCallHooks[] = tracer === undefined ? [] : [createTracingCallHooks({ tracer })];
  // Next, so that a call the shedding refuses is still counted with its code.
  const metricsHooks: ServerCallHooks[] = metrics === undefined ? [] : [createServerMetricsHooks(metrics)];
  const serviceHooks = options.callHooks?.({ redis, metrics }) ?? [];
  // The admin API's per-method window (always on: fixed memory, the mesh view and the weft CLI read it).
  const red = createRedRecorder({ callerOf });
  const eventFlows = createEventFlows();
  const aggregator = createMeshAggregator({ nc, instanceId: config.instanceId, registryPrefix: config.registryPrefix });
  let announcedAddress = "";
  const host = createHost({
    admin: redAdminExtensions({
      window: red.window,
      load: () => ({
        eventLoopDelayUs: Math.round(eventLoop.delayMs() * 1000),
        workerQueueDepth: options.workerQueueDepth?.() ?? 0,
        concurrencyLimit: limiter.limit,
      }),
      address: () => announcedAddress,
      ejected: () => mesh.stats().endpoints.filter((e) => e.ejected).map((e) => e.instanceId),
      mesh: (request, signal) => aggregator.snapshot(request, signal),
      eventStreams: createEventStreamsReader(nc),
      tailEvents: createEventTail(nc),
      eventFlows: () => eventFlows.list(),
    }),
    hostname: config.hostname,
    port: config.port,
    instanceId: config.instanceId,
    version: config.version,
    // Authorization right after tracing and metrics (so refusals are traced and counted with their code),
    // before shedding: a refused call never takes a concurrency slot.
    callHooks: [...tracingHooks, ...metricsHooks, red.hooks, security === undefined ? insecureEndUser : security.authorization.hooks, ...serviceHooks, shedding, inbound],
    guardAdmin: security?.authorization.guardAdmin,
    tls: security?.hostTls,
    maxConnectionAgeMs: security === undefined ? 0 : config.maxConnectionAgeMs,
    metrics,
    methodReadMaxBytes: options.methodReadMaxBytes,
    httpFallback: options.httpFallback,
    logger: options.logger,
  });
  clock.lap("host");
  const closers: (() => void | Promise<void>)[] = [];
  const services = await options.services({
    config,
    nc,
    mesh,
    redis,
    tracer,
    tracing,
    metrics,
    eventFlows,
    onClose: (release) => void closers.push(release),
    workloadTls: security?.workloadTls,
    policies: options.policies,
  });
  for (const { service, impl } of services) host.register(service, impl);
  clock.lap("services");
  const listening = await host.listen();
  clock.lap("listen");
  const address = `${config.advertiseHost}:${listening.port}`;
  announcedAddress = address;

  // Connect over NATS for the same services, behind the same hooks; the host's drain refuses there too.
  const draining = refusedError("draining");
  const refuseWhileDraining: ServerCallHooks = {
    begin() {
      if (host.draining) throw draining;
    },
  };
  // Under mTLS only with a NATS user: then the broker's permissions (generated from the same policies)
  // vouch for each caller's token, which becomes its identity; without one NATS would bypass the policies.
  const servesNats = security === undefined || natsUser !== undefined;
  const natsSubject = servesNats ? natsInstanceSubject(config.rpcPrefix, config.workload, config.instanceId) : "";
  const policies = options.policies;
  const natsServer = !servesNats ? undefined : createNatsRpcServer({
    nc,
    subject: natsSubject,
    services,
    callHooks: [...tracingHooks, ...metricsHooks, red.hooks, refuseWhileDraining, security === undefined ? insecureEndUser : security.authorization.hooks, ...serviceHooks, shedding, inbound],
    verifiedCallers: security === undefined || policies === undefined ? undefined : { identityOf: (caller) => policies.workloads.get(caller)?.uri, inboxPrefixOf: natsInboxPrefix },
  });

  const announcer = createAnnouncer({
    nc,
    instanceId: config.instanceId,
    services: services.map((s) => s.service.typeName),
    address,
    natsSubject,
    version: config.version,
    subjectPrefix: config.registryPrefix,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    load: () => ({
      inFlight: host.inFlight + (natsServer?.inFlight ?? 0),
      eventLoopDelayMs: eventLoop.delayMs(),
      workerQueueDepth: options.workerQueueDepth?.() ?? 0,
      concurrencyLimit: limiter.limit,
    }),
  });
  await announcer.start();
  clock.lap("announce");
  const gatherResponder = startGatherResponder({ nc, registryPrefix: config.registryPrefix, snapshot: () => host.instanceSnapshot(), window: red.window });

  // Leave first, so clients stop choosing this instance before it refuses anything.
  host.onDrain("announce", "discovery-leave", async () => {
    gatherResponder.close();
    aggregator.close();
    await announcer.leave();
    if (config.leaveGraceMs > 0) await sleep(config.leaveGraceMs);
  });
  if (natsServer !== undefined) host.onDrain("settle", "nats-rpc-settle", () => natsServer.drain(25_000));
  host.onDrain("close", "release-mesh-node", async () => {
    for (const release of closers.reverse()) await release();
    mesh.close();
    await discovery.close();
    eventLoop.close();
    security?.workloadTls.close();
    redis?.disconnect();
    await nc.drain().catch(() => undefined);
    await tracing?.shutdown().catch(() => undefined);
  });

  return { host, mesh, discovery, limiter, tracing, metrics, address, startup: clock.timings(), drain: () => host.drain() };
}

/** A node's security: its workload's mTLS and the authorization its host enforces. */
interface NodeSecurity {
  readonly workloadTls: WorkloadTls;
  readonly authorization: Authorization;
  readonly hostTls: HostTlsOptions | undefined;
  readonly clientTls: Http2EndpointOptions;
}

/** Loads this workload's credentials and builds its authorization, when MESH_TLS_DIR is set. */
async function startSecurity(config: MeshNodeConfig, policies: AuthorizationTable | undefined, logger: HostLogger | undefined): Promise<NodeSecurity | undefined> {
  if (config.tlsDir === undefined) {
    (logger ?? createJsonLogger("weft.node")).error("MESH_TLS_DIR is not set: mutual TLS and authorization are OFF and every caller is trusted (development only; see docs/security.md)", {});
    return undefined;
  }
  if (policies === undefined) throw new MeshConfigError("MESH_TLS_DIR is set but the process was started without policies (startMeshNode options.policies)");
  if (!policies.workloads.has(config.workload)) throw new MeshConfigError(`MESH_TLS_DIR: no policy names the workload ${JSON.stringify(config.workload)}`);
  const workloadTls = await createWorkloadTls({
    trustDomain: config.trustDomain,
    dir: config.tlsDir,
    service: config.workload,
    onReloadError: (err) => logger?.error("new credentials not used", { code: err.code, error: err.message }),
  });
  const verifier = createEndUserVerifier(() => workloadTls.current().cas, config.trustDomain);
  const authorization = createAuthorization({ table: policies, verifier });
  // The identity an endpoint must prove: the one workload that serves what it announces.
  const expected = (endpoint: Endpoint) => {
    const servers = new Set(endpoint.services.map((s) => policies.serverOf(s)?.uri));
    return servers.size === 1 ? [...servers][0] : undefined;
  };
  return {
    workloadTls,
    authorization,
    // A public edge (its policy lets anyone call) keeps a port browsers can reach; TLS for it is the
    // ingress's business. Every other workload accepts only mutual TLS.
    hostTls: policies.isPublic(config.workload) ? undefined : hostTlsOptions(workloadTls),
    clientTls: meshClientTls(workloadTls, expected, (endpoint) => endpoint.services.every((s) => isPublicService(policies, s))),
  };
}

/** True when the workload serving `service` is a public edge (its port is not mutual TLS). */
function isPublicService(policies: AuthorizationTable, service: string): boolean {
  const server = policies.serverOf(service);
  return server !== undefined && policies.isPublic(server.service);
}
