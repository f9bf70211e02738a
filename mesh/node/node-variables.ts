// The environment variables readMeshNodeConfig (and the telemetry and logger it sets up) reads, with
// their defaults: the --help of every distributed process lists them from here.

import type { CommandVariable } from "../errors/index.ts";
import { TELEMETRY_VARIABLES } from "../telemetry/index.ts";

/** Every variable a distributed mesh process reads through mesh/node, for --help. */
export const MESH_NODE_VARIABLES: readonly CommandVariable[] = Object.freeze([
  { name: "HOST", defaultText: "127.0.0.1", description: "address to listen on (0.0.0.0 for remote callers)" },
  { name: "PORT", defaultText: "0 (a free port)", description: "port of the host" },
  { name: "ADVERTISE_HOST", defaultText: "HOST (127.0.0.1 for 0.0.0.0)", description: "address announced to other instances" },
  { name: "NATS_URL", defaultText: "nats://127.0.0.1:4222", description: "NATS servers, comma-separated (discovery, events, Connect over NATS)" },
  { name: "REDIS_URL", defaultText: "unset (in memory)", description: "Redis for caches and shared state, e.g. redis://127.0.0.1:6379, or a Sentinel group: redis-sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster" },
  { name: "INSTANCE_ID", defaultText: "<service>-<pid>-<random>", description: "identity announced through discovery" },
  { name: "VERSION", defaultText: "0.0.0-dev", description: "version announced through discovery" },
  { name: "MESH_TRANSPORT", defaultText: "grpc", description: "how this process calls others: grpc (HTTP/2) or nats" },
  { name: "MESH_REGISTRY_PREFIX", defaultText: "weft.registry", description: "NATS subject prefix of discovery" },
  { name: "MESH_RPC_PREFIX", defaultText: "weft.rpc", description: "NATS subject prefix of Connect over NATS" },
  { name: "MESH_EVENTS_PREFIX", defaultText: "none", description: "prefix of JetStream streams and Redis keys" },
  { name: "MESH_HEARTBEAT_MS", defaultText: "1000", description: "discovery heartbeat; an instance is dropped after 3 missed" },
  { name: "MESH_LEAVE_GRACE_MS", defaultText: "200", description: "wait between announcing leave and refusing calls on drain" },
  { name: "MESH_CONCURRENCY_LIMIT", defaultText: "1000", description: "ceiling of the adaptive concurrency limit" },
  { name: "MESH_TLS_DIR", defaultText: "unset (no mTLS)", description: "ca.crt, tls.crt, tls.key: mutual TLS and authorization by policy" },
  { name: "MESH_NATS_NKEY_FILE", defaultText: "unset (no NATS user)", description: "this workload's NATS nkey seed; under mTLS, Connect over NATS needs it" },
  { name: "MESH_TRUST_DOMAIN", defaultText: "weft.local", description: "SPIFFE trust domain of every identity" },
  { name: "MESH_MAX_CONNECTION_AGE_MS", defaultText: "300000", description: "under mTLS, GOAWAY to HTTP/2 connections older than this; 0 = never" },
  ...TELEMETRY_VARIABLES,
]);
