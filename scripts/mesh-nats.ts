// An authenticated nats-server for the mesh, configured from the policies: one nkey user per workload
// (seeds kept in a credentials folder, made on first use) with the subject permissions of
// mesh/security natsPermissions, on a port of its choosing, JetStream in a temporary folder. The
// distributed launcher starts one for `--transport nats`; the security tests start their own.

import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { natsSeedFile, natsServerConfig, writeNatsCredentials, type AuthorizationTable, type NatsMeshSubjects, type NatsPermissions } from "../mesh/security/index.ts";

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

const READY = /Listening for client connections on 127\.0\.0\.1:(\d+)[\s\S]*Server is ready/;

/** Starts nats-server with a configuration generated from the policies; resolves once it listens. */
export async function startMeshNats(options: MeshNatsOptions): Promise<MeshNats> {
  const users = await writeNatsCredentials(options.credentialsDir, [...options.table.workloads.keys()]);
  const dir = await mkdtemp(join(tmpdir(), "weft-mesh-nats-"));
  const configFile = join(dir, "nats-server.conf");
  await writeFile(configFile, natsServerConfig({ table: options.table, users, subjects: options.subjects, port: -1, jetStreamDir: join(dir, "js"), extraUsers: options.extraUsers }), { mode: 0o600 });
  // Its own process group: a terminal's Ctrl-C must not stop the broker before the services drained.
  const child = spawn("nats-server", ["-c", configFile], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  let port: number;
  try {
    port = await untilReady(child, options.startTimeoutMs ?? 15_000);
  } catch (err) {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    configFile,
    seedFile: (workload) => natsSeedFile(options.credentialsDir, workload),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
    kill() {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The port nats-server reports once ready; rejects with its output when it exits or stays silent. */
function untilReady(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`nats-server did not report ready within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      if (output.length < 65_536) output += chunk.toString();
      const match = READY.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout!.off("data", onData).resume();
      child.stderr!.off("data", onData).resume();
      child.off("exit", onExit);
      resolve(Number(match[1]));
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code} before it was ready (is it installed? bash scripts/dev-services.sh):\n${output}`));
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", onExit);
  });
}
