// A PostgreSQL server of a test's own (Debian's binaries, initdb + pg_ctl, as the postgres user when run
// as root), on a free port, for tests that stop and start it; the shared server on 5432 is never touched.

import { execFile } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../free-port.ts";

const run = promisify(execFile);

/** A private server: `stop()` is an immediate shutdown (connections cut), `start()` brings it back on the same port. */
export interface PrivatePostgres {
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => join(root, v, "bin")).find((dir) => existsSync(join(dir, "pg_ctl")));
  if (!found) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)");
  return found;
}

/** Runs a server binary, as the postgres user when this process is root (initdb refuses root). */
async function pgTool(tool: string, args: string[]): Promise<void> {
  const path = join(binDir(), tool);
  if (process.getuid?.() === 0) await run("runuser", ["-u", "postgres", "--", path, ...args]);
  else await run(path, args);
}

/** initdb (trust auth) into a temporary directory and starts it on a free port. */
export async function privatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), "weft-pg-"));
  const data = join(dir, "data");
  if (process.getuid?.() === 0) {
    chmodSync(dir, 0o700);
    chownSync(dir, Number((await run("id", ["-u", "postgres"])).stdout.trim()), Number((await run("id", ["-g", "postgres"])).stdout.trim()));
  }
  await pgTool("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=20 -c shared_buffers=16MB`;
  const start = () => pgTool("pg_ctl", ["-D", data, "-o", options, "-w", "-t", "30", "-l", join(dir, "log"), "start"]);
  const stop = () => pgTool("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async dispose() {
      await stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
