// A child-process fixture: serves TestService on a host and drains on SIGTERM/SIGINT.
// Prints one line "LISTENING <url>" on stdout when ready. Env: ENGINE (a name from engines.ts),
// DRAIN_GRACE_MS.

import { createHost, drainOnSignals, silentLogger } from "../../mesh/host/index.ts";
import { engineByName } from "./engines.ts";
import { createTestServiceImpl, TestService } from "../support/test-service.ts";

const host = createHost({
  port: 0,
  engine: engineByName(process.env.ENGINE ?? "connect-node"),
  drainGraceMs: Number(process.env.DRAIN_GRACE_MS ?? 10_000),
  logger: silentLogger,
});
host.register(TestService, createTestServiceImpl({ servedBy: `pid-${process.pid}` }));
drainOnSignals(host);
const { url } = await host.listen();
process.stdout.write(`LISTENING ${url}\n`);
