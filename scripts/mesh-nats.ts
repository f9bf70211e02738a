// An authenticated nats-server for the mesh, configured from the policies: one nkey user per workload
// (seeds kept in a credentials folder, made on first use) with the subject permissions of
// mesh/security natsPermissions, on a port of its choosing, JetStream in a temporary folder. The
// distributed launcher starts one for `--transport nats`; the security tests start their own.

import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnUntilReady, stopProcess } from "./cluster/loopback-process.ts";
import { natsAuthorization, natsSeedFile, natsServerConfig, writeNatsCredentials, type AuthorizationTable, type NatsMeshSubjects, type NatsPermissions } from "../mesh/security/index.ts";

/** Options of {@link startMeshNats}. */
export interface MeshNatsOptions {
  /** The compiled policies. Required. */
  readonly table: AuthorizationTable;
  /** Folder of the workloads' seeds (`<workload>.nk`), made and kept there. Required. */
  readonly credentialsDir: string;
  /** The mesh's subject prefixes. Default: mesh/node's defaults. */
  readonly subjects?: NatsMeshSubjects;
  /** Further users (tests, tools) and their permissions. Default none. */
  readonly extraUsers?: readonly { readonly nkey: string; readonly permissions: NatsPermissions }[];
  /** How long to wait for the server to say it is ready, in milliseconds. Default 15000. */
  readonly startTimeoutMs?: number;
}

/** A running nats-server of the mesh. */
export interface MeshNats {
  readonly url: string;
  readonly port: number;
  /** The generated configuration file. */
  readonly configFile: string;
  /** Each workload's seed file. */
  seedFile(workload: string): string;
  /** Stops the server (SIGTERM) and removes its temporary folder. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL) and removes its temporary folder, for an exit that cannot wait. */
  kill(): void;
}

/** The mesh's NATS users for servers started elsewhere (the nodes of `--cluster`). */
export interface MeshNatsUsers {
  /** The nats-server `authorization` block every node carries. */
  readonly authorization: string;
  /** Each workload's seed file. */
  seedFile(workload: string): string;
}

/** Makes (or reuses) every workload's nkey user and returns the authorization block of the policies. */
export async function meshNatsUsers(options: Pick<MeshNatsOptions, "table" | "credentialsDir" | "subjects" | "extraUsers">): Promise<MeshNatsUsers> {
  const users = await writeNatsCredentials(options.credentialsDir, [...options.table.workloads.keys()]);
  return {
    authorization: natsAuthorization({ table: options.table, users, subjects: options.subjects, extraUsers: options.extraUsers }),
    seedFile: (workload) => natsSeedFile(options.credentialsDir, workload),
  };
}

const READY = /Listening for client connections on 127\.0\.0\.1:(\d+)[\s\S]*Server is ready/;

/** Starts nats-server with a configuration generated from the policies; resolves once it listens. */
export async function startMeshNats(options: MeshNatsOptions): Promise<MeshNats> {
  const users = await writeNatsCredentials(options.credentialsDir, [...options.table.workloads.keys()]);
  const dir = await mkdtemp(join(tmpdir(), "weft-mesh-nats-"));
  const configFile = join(dir, "nats-server.conf");
  await writeFile(configFile, natsServerConfig({ table: options.table, users, subjects: options.subjects, port: -1, jetStreamDir: join(dir, "js"), extraUsers: options.extraUsers }), { mode: 0o600 });
  // Its own process group: a terminal's Ctrl-C must not stop the broker before the services drained.
  let started;
  try {
    started = await spawnUntilReady("nats-server", ["-c", configFile], READY, { timeoutMs: options.startTimeoutMs ?? 15_000, detached: true, hint: "is it installed? bash scripts/dev-services.sh" });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const { child } = started;
  const port = Number(started.match[1]);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    configFile,
    seedFile: (workload) => natsSeedFile(options.credentialsDir, workload),
    async stop() {
      await stopProcess(child, "SIGTERM");
      await rm(dir, { recursive: true, force: true });
    },
    kill() {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
