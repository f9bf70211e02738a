// The start every service's main.ts shares: --help listing every variable the process reads, then its
// JSON logger, with a bad LOG_LEVEL (or flag) ending start-up as one WEFT_ERR_* line, not a stack.

import { type CommandVariable, readCommandLine, runMain } from "../mesh/errors/index.ts";
import { createJsonLogger, exitOnSignalsDuringStartup, type HostLogger } from "../mesh/host/index.ts";
import { MESH_NODE_VARIABLES } from "../mesh/node/index.ts";

/** What a service adds to the mesh/node variables in its --help. */
export interface ServiceMainOptions {
  /** One or two lines on what the process serves. */
  readonly summary: string;
  /** Variables only this service reads. */
  readonly env?: readonly CommandVariable[];
}

/**
 * Handles --help (exit 0) and creates the service's logger (`weft.<service>`); exits 1 with one line on a
 * bad setting; a SIGTERM/SIGINT before the service installs its drain handler exits 0.
 */
export async function beginServiceMain(service: string, options: ServiceMainOptions): Promise<HostLogger> {
  readCommandLine({
    usage: `node_modules/.bin/node services/${service}/main.ts   (one ${service} instance; npm run start:distributed runs them all)`,
    summary: options.summary,
    flags: {},
    env: [...MESH_NODE_VARIABLES, ...(options.env ?? [])],
    notes: "Every setting is an environment variable; a bad one stops start-up with one WEFT_ERR_* line (docs/errors.md).",
  });
  const logger = await runMain(() => createJsonLogger(`weft.${service}`));
  // Stopped before it serves (the launcher or Kubernetes during a slow start): exit 0, not killed by the signal.
  exitOnSignalsDuringStartup({ logger });
  return logger;
}
