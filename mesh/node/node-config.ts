// Configuration of one distributed mesh process, read from the environment in one place.

import { randomBytes } from "node:crypto";
import { WeftError } from "../errors/index.ts";
import { isRedisUrl } from "../redis/index.ts";
import { readMetricsConfig, readTracingConfig, type TracingConfig } from "../telemetry/index.ts";

/** Stable code of a bad distributed-mode setting (registered in mesh/errors/codes.ts). */
export const WEFT_ERR_MESH_CONFIG = "WEFT_ERR_MESH_CONFIG";

/** A setting that cannot be used; the message names the variable. */
export class MeshConfigError extends WeftError {
  declare readonly code: typeof WEFT_ERR_MESH_CONFIG;
  constructor(message: string) {
    super(WEFT_ERR_MESH_CONFIG, message);
  }
}

/** Settings of one mesh process (one instance of one or more services). */
export interface MeshNodeConfig {
  /** The service this process serves (the default `service.name` of its spans). */
  readonly serviceName: string;
  /** `HOST`: address to bind. Default "127.0.0.1". */
  readonly hostname: string;
  /** `PORT`: port of the service host. Default 0 (a free port, announced through discovery). */
  readonly port: number;
  /** `ADVERTISE_HOST`: the address other instances use to reach this one. Default: HOST (127.0.0.1 for 0.0.0.0). */
  readonly advertiseHost: string;
  /** `NATS_URL`: NATS servers, comma-separated. Default "nats://127.0.0.1:4222". */
  readonly natsUrl: string;
  /** `REDIS_URL`: Redis for caches; unset means in-memory caches. Default unset. */
  readonly redisUrl: string | undefined;
  /** `INSTANCE_ID`: unique id of this process ([A-Za-z0-9_-]). Default "<service>-<pid>-<random>". */
  readonly instanceId: string;
  /** `VERSION`: build version announced. Default "0.0.0-dev". */
  readonly version: string;
  /** `MESH_TRANSPORT`: how this process calls other services: "grpc" (HTTP/2) or "nats". Default "grpc". */
  readonly transport: "grpc" | "nats";
  /** `MESH_REGISTRY_PREFIX`: discovery subject prefix. Default "weft.registry". */
  readonly registryPrefix: string;
  /** `MESH_RPC_PREFIX`: prefix of per-instance Connect-over-NATS subjects. Default "weft.rpc". */
  readonly rpcPrefix: string;
  /** `MESH_EVENTS_PREFIX`: namespace of event streams (letters and digits). Default "" (none). */
  readonly eventsPrefix: string;
  /** `MESH_HEARTBEAT_MS`: discovery heartbeat interval; instances expire after 3 missed. Default 1000. */
  readonly heartbeatIntervalMs: number;
  /** `MESH_LEAVE_GRACE_MS`: wait between announcing leave and refusing calls, in ms. Default 200. */
  readonly leaveGraceMs: number;
  /** `MESH_CONCURRENCY_LIMIT`: most concurrent calls the adaptive limit may allow. Default 1000. */
  readonly concurrencyLimitMax: number;
  /** The service this process is (its workload name, the `serviceName` given when reading the config). */
  readonly workload: string;
  /**
   * `MESH_TLS_DIR`: this workload's credentials folder (ca.crt, tls.crt, tls.key), watched for rotation.
   * Set: mutual TLS between services and authorization by policy. Unset: neither (development only).
   */
  readonly tlsDir: string | undefined;
  /**
   * `MESH_NATS_NKEY_FILE`: this workload's NATS user (an nkey seed file) on a server configured from the
   * policies (mesh/security natsServerConfig). Set with MESH_TLS_DIR: Connect over NATS is served, callers
   * verified by the broker. Default unset: connect without credentials and, under mTLS, no NATS RPC.
   */
  readonly natsNkeyFile: string | undefined;
  /** `MESH_TRUST_DOMAIN`: the SPIFFE trust domain of every identity. Default "weft.local". */
  readonly trustDomain: string;
  /** `MESH_MAX_CONNECTION_AGE_MS`: HTTP/2 connections older than this get GOAWAY (0 = never). Default 300000. */
  readonly maxConnectionAgeMs: number;
  /** `WEFT_METRICS`: serve Prometheus metrics at `/metrics` and record them. Default on. */
  readonly metrics: boolean;
  /** `OTEL_*`: tracing (off unless an OTLP endpoint is set); see mesh/telemetry's readTracingConfig. */
  readonly tracing: TracingConfig;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new MeshConfigError(`${name} is ${JSON.stringify(raw)}, set ${name} to an integer from ${min} to ${max}`);
  return n;
}

/** REDIS_URL when set; the value is never echoed (it may hold a password). */
function redisUrl(raw: string | undefined): string | undefined {
  const value = raw?.trim();
  if (value === undefined || value === "") return undefined;
  if (!isRedisUrl(value)) {
    throw new MeshConfigError("REDIS_URL is not a redis://, rediss:// or redis-sentinel:// URL, set REDIS_URL to a URL such as redis://127.0.0.1:6379 (or redis-sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster) or unset it for in-memory state");
  }
  return value;
}

const token = /^[A-Za-z0-9_-]+$/;
const subject = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Reads and checks the environment for a process serving `serviceName`; throws MeshConfigError (or
 * TelemetryConfigError for a bad OTEL_* variable).
 */
export function readMeshNodeConfig(env: NodeJS.ProcessEnv, serviceName: string): MeshNodeConfig {
  const hostname = env.HOST?.trim() || "127.0.0.1";
  const advertiseHost = env.ADVERTISE_HOST?.trim() || (hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname);
  const instanceId = env.INSTANCE_ID?.trim() || `${serviceName}-${process.pid}-${randomBytes(3).toString("hex")}`;
  if (!token.test(instanceId)) throw new MeshConfigError(`INSTANCE_ID is ${JSON.stringify(instanceId)}, set INSTANCE_ID to letters, digits, "_" and "-" only`);
  const transport = env.MESH_TRANSPORT?.trim() || "grpc";
  if (transport !== "grpc" && transport !== "nats") throw new MeshConfigError(`MESH_TRANSPORT is ${JSON.stringify(transport)}, set MESH_TRANSPORT to "grpc" or "nats"`);
  const registryPrefix = env.MESH_REGISTRY_PREFIX?.trim() || "weft.registry";
  if (!subject.test(registryPrefix)) throw new MeshConfigError(`MESH_REGISTRY_PREFIX is ${JSON.stringify(registryPrefix)}, set MESH_REGISTRY_PREFIX to a NATS subject without wildcards`);
  const rpcPrefix = env.MESH_RPC_PREFIX?.trim() || "weft.rpc";
  if (!subject.test(rpcPrefix)) throw new MeshConfigError(`MESH_RPC_PREFIX is ${JSON.stringify(rpcPrefix)}, set MESH_RPC_PREFIX to a NATS subject without wildcards`);
  const eventsPrefix = env.MESH_EVENTS_PREFIX?.trim() ?? "";
  if (!/^[A-Za-z0-9]*$/.test(eventsPrefix)) throw new MeshConfigError(`MESH_EVENTS_PREFIX is ${JSON.stringify(eventsPrefix)}, set MESH_EVENTS_PREFIX to letters and digits only`);
  const tlsDir = env.MESH_TLS_DIR?.trim() || undefined;
  const trustDomain = env.MESH_TRUST_DOMAIN?.trim() || "weft.local";
  if (!/^[a-z0-9._-]+$/.test(trustDomain)) throw new MeshConfigError(`MESH_TRUST_DOMAIN is ${JSON.stringify(trustDomain)}, set MESH_TRUST_DOMAIN to a SPIFFE trust domain (lower-case letters, digits, dots, dashes)`);
  const natsNkeyFile = env.MESH_NATS_NKEY_FILE?.trim() || undefined;
  if (tlsDir !== undefined && transport === "nats" && natsNkeyFile === undefined) {
    throw new MeshConfigError("MESH_TRANSPORT=nats with MESH_TLS_DIR needs MESH_NATS_NKEY_FILE: this workload's NATS user on a server whose permissions come from the policies (docs/security.md), so the broker vouches for callers");
  }
  return {
    serviceName,
    hostname,
    port: int(env, "PORT", 0, 0, 65535),
    advertiseHost,
    natsUrl: env.NATS_URL?.trim() || "nats://127.0.0.1:4222",
    redisUrl: redisUrl(env.REDIS_URL),
    instanceId,
    version: env.VERSION?.trim() || "0.0.0-dev",
    transport,
    registryPrefix,
    rpcPrefix,
    eventsPrefix,
    heartbeatIntervalMs: int(env, "MESH_HEARTBEAT_MS", 1000, 10, 60_000),
    leaveGraceMs: int(env, "MESH_LEAVE_GRACE_MS", 200, 0, 10_000),
    concurrencyLimitMax: int(env, "MESH_CONCURRENCY_LIMIT", 1000, 4, 100_000),
    workload: serviceName,
    tlsDir,
    natsNkeyFile,
    trustDomain,
    maxConnectionAgeMs: int(env, "MESH_MAX_CONNECTION_AGE_MS", 300_000, 0, 2 ** 31 - 1),
    metrics: readMetricsConfig(env).enabled,
    tracing: readTracingConfig(env, serviceName),
  };
}
