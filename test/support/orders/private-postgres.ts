// A PostgreSQL server of a test's own (Debian's binaries, initdb + pg_ctl, as the postgres user when run
// as root), on a free port, for tests that stop and start it; the shared server on 5432 is never touched.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { pgTool, postgresTempDir } from "../../../scripts/cluster/postgres-replica.ts";
import { freePort } from "../free-port.ts";

/** A private server: `stop()` is an immediate shutdown (connections cut), `start()` brings it back on the same port. */
export interface PrivatePostgres {
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

/** initdb (trust auth) into a temporary directory and starts it on a free port. */
export async function privatePostgres(): Promise<PrivatePostgres> {
  const dir = await postgresTempDir("weft-pg-");
  const data = join(dir, "data");
  await pgTool("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=20 -c shared_buffers=16MB`;
  const start = async () => void (await pgTool("pg_ctl", ["-D", data, "-o", options, "-w", "-t", "30", "-l", join(dir, "log"), "start"]));
  const stop = async () => void (await pgTool("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]));
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
