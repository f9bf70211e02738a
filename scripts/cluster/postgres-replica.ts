// PostgreSQL with a streaming standby on loopback, for `npm run start:distributed -- --cluster` and the
// failover tests: initdb a primary, pg_basebackup -R a standby from it, both on free ports (Debian's
// server binaries, run as the postgres user when this process is root). The shop reaches them through a
// two-host DATABASE_URL; the orders client follows whichever is the primary (services/orders). Nothing
// promotes the standby on its own here: `promote()` is the operator's (or Patroni's) step.

import { execFile } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { candidatePort } from "./loopback-process.ts";

const run = promisify(execFile);

/** How long the standby may take to stream from the primary, in ms. */
const STREAMING_TIMEOUT_MS = 20_000;

/** Options of {@link startPostgresReplica}. */
export interface PostgresReplicaOptions {
  /** Database created on the primary (and streamed to the standby). Default "weft". */
  readonly database?: string;
  /**
   * The primary's commits wait for the standby (`synchronous_standby_names = '*'`), so a commit the client
   * saw survives the primary's crash. Default true; false is asynchronous streaming (the last commits may be lost).
   */
  readonly synchronous?: boolean;
}

/** A running primary and standby: connection settings and the helpers a failover drill needs. */
export interface PostgresReplicaCluster {
  /** `DATABASE_URL` listing both hosts, primary first: `postgres://postgres@127.0.0.1:<p>,127.0.0.1:<s>/<db>`. */
  readonly url: string;
  /** Port of the server started as the primary. */
  readonly primaryPort: number;
  /** Port of the server started as the standby. */
  readonly standbyPort: number;
  /** One URL per server (primary's first), e.g. to ask each whether it is in recovery. */
  readonly hostUrls: readonly [string, string];
  /** SIGKILL of the primary's postmaster (a crash: its backends exit when they notice). */
  killPrimary(): Promise<void>;
  /** `pg_ctl promote` of the standby; resolves once it accepts writes. */
  promote(): Promise<void>;
  /** Stops both servers (immediate) and removes their directories. */
  stop(): Promise<void>;
}

/** The newest Debian PostgreSQL server binaries (`/usr/lib/postgresql/<version>/bin`). */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => join(root, v, "bin")).find((dir) => existsSync(join(dir, "pg_ctl")));
  if (!found) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)");
  return found;
}

/** Runs a server binary, as the postgres user when this process is root (initdb and postgres refuse root). */
export async function pgTool(tool: string, args: readonly string[]): Promise<string> {
  const path = join(postgresBinDir(), tool);
  const { stdout } = process.getuid?.() === 0 ? await run("runuser", ["-u", "postgres", "--", path, ...args]) : await run(path, [...args]);
  return stdout;
}

/** A new temporary directory the server may write (owned by the postgres user when this process is root). */
export async function postgresTempDir(prefix: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (process.getuid?.() === 0) {
    chmodSync(dir, 0o700);
    chownSync(dir, Number((await run("id", ["-u", "postgres"])).stdout.trim()), Number((await run("id", ["-g", "postgres"])).stdout.trim()));
  }
  return dir;
}

/** Starts a primary (wal_level=replica) with `database`, and a standby streaming from it. */
export async function startPostgresReplica(options: PostgresReplicaOptions = {}): Promise<PostgresReplicaCluster> {
  const database = options.database ?? "weft";
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new RangeError("options.database must be a lower-case SQL identifier");
  const dir = await postgresTempDir("weft-pg-replica-");
  const primaryData = join(dir, "primary");
  const standbyData = join(dir, "standby");
  const settings = (port: number) =>
    `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=40 -c shared_buffers=16MB -c wal_level=replica -c max_wal_senders=4 -c hot_standby=on`;
  const start = (data: string, port: number, log: string) => pgTool("pg_ctl", ["-D", data, "-o", settings(port), "-w", "-t", "30", "-l", join(dir, log), "start"]);
  const stopServer = (data: string) => pgTool("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => "");
  const stop = async () => {
    await Promise.all([stopServer(primaryData), stopServer(standbyData)]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // initdb's default pg_hba.conf with trust already admits replication connections from loopback.
    await pgTool("initdb", ["-D", primaryData, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
    const primaryPort = await startOnFreePort((port) => start(primaryData, port, "primary.log"));
    await pgTool("psql", ["-h", "127.0.0.1", "-p", String(primaryPort), "-U", "postgres", "-d", "postgres", "-qc", `CREATE DATABASE ${database}`]);
    await pgTool("pg_basebackup", ["-h", "127.0.0.1", "-p", String(primaryPort), "-U", "postgres", "-D", standbyData, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"]);
    const standbyPort = await startOnFreePort((port) => start(standbyData, port, "standby.log"));
    const psql = (sql: string) => pgTool("psql", ["-h", "127.0.0.1", "-p", String(primaryPort), "-U", "postgres", "-d", "postgres", "-qAtc", sql]);
    if (options.synchronous !== false) {
      // Only now, and on the primary only (ALTER SYSTEM after the base backup): the promoted standby has none to wait for.
      await psql("ALTER SYSTEM SET synchronous_standby_names = '*'");
      await psql("SELECT pg_reload_conf()");
    }
    // Ready once the standby streams (and, when synchronous, the primary counts it as its sync standby).
    const wanted = options.synchronous === false ? "async" : "sync";
    for (let until = Date.now() + STREAMING_TIMEOUT_MS; (await psql("SELECT string_agg(sync_state, ',') FROM pg_stat_replication WHERE state = 'streaming'")).trim() !== wanted; ) {
      if (Date.now() > until) throw new Error(`the standby was not streaming (${wanted}) within ${STREAMING_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const hostUrl = (port: number) => `postgres://postgres@127.0.0.1:${port}/${database}`;
    return {
      url: `postgres://postgres@127.0.0.1:${primaryPort},127.0.0.1:${standbyPort}/${database}`,
      primaryPort,
      standbyPort,
      hostUrls: [hostUrl(primaryPort), hostUrl(standbyPort)],
      async killPrimary() {
        const pidFile = join(primaryData, "postmaster.pid");
        if (!existsSync(pidFile)) return;
        const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          return; // already gone
        }
        // Gone once its port refuses connections (its backends follow on their own; a zombie may linger).
        for (let until = Date.now() + 5_000; Date.now() < until && (await accepts(primaryPort)); ) await new Promise((resolve) => setTimeout(resolve, 20));
      },
      async promote() {
        await pgTool("pg_ctl", ["-D", standbyData, "-w", "-t", "30", "promote"]);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startOnFreePort(start: (port: number) => Promise<unknown>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await candidatePort();
    try {
      await start(port);
      return port;
    } catch (err) {
      // pg_ctl says only that the server did not start; another process may have taken the port meanwhile.
      if (attempt >= 3) throw err;
    }
  }
}

/** True when something accepts TCP connections on the loopback `port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
