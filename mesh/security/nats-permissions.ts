// NATS permissions from the policies: each workload connects to NATS as its own user, which may publish
// requests only to the methods its policies let it call (with its own name as the caller token, so the
// broker vouches for the caller), subscribe only to its own instances' subjects and its own reply
// inbox, and reply only into the inboxes of workloads allowed to call it. The nats-server
// configuration with those users is generated here too.

import type { AuthorizationTable } from "./policy-compiler.ts";
import { PolicyError } from "./policy.ts";
import { CredentialsError } from "./workload-credentials.ts";

/** Root of every reply inbox; a workload's inbox is `_INBOX.<workload>` (nats.js `inboxPrefix`). */
export const NATS_INBOX_ROOT = "_INBOX";

/** The last subject token of stream control messages (mesh/nats-rpc stream-control.ts). */
const CONTROL_TOKEN = "$ctl";

/** Subject prefixes of one mesh (mesh/node config: MESH_RPC_PREFIX, MESH_REGISTRY_PREFIX, MESH_EVENTS_PREFIX). */
export interface NatsMeshSubjects {
  /** Prefix of Connect-over-NATS subjects. Default "weft.rpc". */
  readonly rpcPrefix?: string;
  /** Discovery subject prefix. Default "weft.registry". */
  readonly registryPrefix?: string;
  /** Events prefix (letters and digits; "" for none). Default "". */
  readonly eventsPrefix?: string;
}

/** What one NATS user may publish to and subscribe to. */
export interface NatsPermissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

/** The reply inbox prefix of a workload: its connection's nats.js `inboxPrefix`. */
export function natsInboxPrefix(workload: string): string {
  return `${NATS_INBOX_ROOT}.${workload}`;
}

/** The subject an instance of `workload` serves Connect over NATS on: `<rpcPrefix>.<workload>.<instanceId>`. */
export function natsInstanceSubject(rpcPrefix: string, workload: string, instanceId: string): string {
  return `${rpcPrefix}.${workload}.${instanceId}`;
}

/** The workloads whose policies let `caller` call at least one method of `server`. */
function callersOf(table: AuthorizationTable, server: string): string[] {
  return [...table.workloads.keys()].filter((c) => table.callableBy(c).some((path) => table.rules(path)?.server.service === server));
}

/** The permissions of `workload`'s NATS user, derived from the compiled policies. */
export function natsPermissions(table: AuthorizationTable, workload: string, subjects: NatsMeshSubjects = {}): NatsPermissions {
  if (!table.workloads.has(workload)) throw new PolicyError(`no policy names the workload ${JSON.stringify(workload)}`);
  const rpc = subjects.rpcPrefix ?? "weft.rpc";
  const registry = subjects.registryPrefix ?? "weft.registry";
  const events = subjects.eventsPrefix ? `${subjects.eventsPrefix}.` : "";
  const publish: string[] = [];
  const servers = new Set<string>();
  for (const path of table.callableBy(workload)) {
    const server = table.rules(path)!.server.service;
    const [service, method] = path.slice(1).split("/");
    // One token for the instance, then the caller: only this user may put its own name there.
    publish.push(`${rpc}.${server}.*.${workload}.${service}.${method}`);
    servers.add(server);
  }
  for (const server of servers) publish.push(`${rpc}.${server}.*.${workload}.${CONTROL_TOKEN}`);
  for (const caller of callersOf(table, workload)) publish.push(`${natsInboxPrefix(caller)}.>`);
  // Discovery and events are shared by every workload of the mesh (JetStream's API answers in the inbox).
  const shared = [`${registry}.>`];
  publish.push(...shared, `${events}events.>`, `${events}deadletter.>`, "$JS.API.>", "$JS.ACK.>");
  const subscribe = [`${rpc}.${workload}.>`, `${natsInboxPrefix(workload)}.>`, ...shared];
  return { publish, subscribe };
}

/** Options of {@link natsServerConfig}. */
export interface NatsServerConfigOptions {
  /** The compiled policies. Required. */
  readonly table: AuthorizationTable;
  /** Each workload's NATS user: its public nkey ("U..."). Every workload of the table needs one. */
  readonly users: ReadonlyMap<string, string>;
  /** The mesh's subject prefixes. Default: mesh/node's defaults. */
  readonly subjects?: NatsMeshSubjects;
  /** Address to listen on. Default "127.0.0.1". */
  readonly host?: string;
  /** Port to listen on. Required. */
  readonly port: number;
  /** JetStream store directory; unset: JetStream off. */
  readonly jetStreamDir?: string;
  /** Further users (an operator's tools, tests), with the permissions they get. Default none. */
  readonly extraUsers?: readonly { readonly nkey: string; readonly permissions: NatsPermissions }[];
}

/** Options of {@link natsAuthorization}: the users part of {@link NatsServerConfigOptions}. */
export type NatsAuthorizationOptions = Pick<NatsServerConfigOptions, "table" | "users" | "subjects" | "extraUsers">;

/**
 * The `authorization` block (text) of a nats-server configuration: one user per workload with the
 * permissions of its policies, and the extra users; nobody else may connect. Every node of a cluster
 * carries the same block.
 */
export function natsAuthorization(options: NatsAuthorizationOptions): string {
  const users: { nkey: string; permissions: NatsPermissions }[] = [];
  for (const workload of options.table.workloads.keys()) {
    const nkey = options.users.get(workload);
    if (nkey === undefined || !/^U[A-Z2-7]{55}$/.test(nkey)) throw new CredentialsError(`options.users: no public user nkey for the workload ${JSON.stringify(workload)}`);
    users.push({ nkey, permissions: natsPermissions(options.table, workload, options.subjects) });
  }
  users.push(...(options.extraUsers ?? []));
  const q = (s: string) => JSON.stringify(s);
  const list = (subjects: readonly string[]) => `[${subjects.map(q).join(", ")}]`;
  const lines = [
    "authorization {",
    "  users: [",
    ...users.map((u) => `    { nkey: ${q(u.nkey)}, permissions: { publish: { allow: ${list(u.permissions.publish)} }, subscribe: { allow: ${list(u.permissions.subscribe)} } } }`),
    "  ]",
    "}",
  ];
  return `${lines.join("\n")}\n`;
}

/** A nats-server configuration (text) with one user per workload and the permissions of its policies; nobody else may connect. */
export function natsServerConfig(options: NatsServerConfigOptions): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    "# Generated from the policies (services/<name>/policy.json) by mesh/security natsServerConfig: do not edit.",
    `listen: ${q(`${options.host ?? "127.0.0.1"}:${options.port}`)}`,
    ...(options.jetStreamDir === undefined ? [] : [`jetstream { store_dir: ${q(options.jetStreamDir)} }`]),
  ];
  return `${lines.join("\n")}\n${natsAuthorization(options)}`;
}
