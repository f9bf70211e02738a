// How a benchmark child process (a server or a client driver) talks to the runner: one JSON line on
// stdout. A server prints `{"ready":true,"port":N}` once it listens, or `{"unavailable":"why"}` when the
// implementation does not exist yet (the runner then reports the scenario as not available, never a
// number). A client driver prints its result object. SIGTERM stops a server.

import { type CommandVariable, readCommandLine } from "../../mesh/errors/index.ts";

/** What a server child reports once it is ready. */
export interface ReadyLine {
  readonly ready: true;
  readonly port: number;
  /** A short description of what exactly is serving (engine, framework version), for the results. */
  readonly detail?: string;
}

/** What a child reports when the implementation under test does not exist. */
export interface UnavailableLine {
  readonly unavailable: string;
}

/** The wire mode of a server scenario. */
export type ServerMode = "h2" | "h1";

/** Reads a benchmark server's command line, `--mode h2|h1` (--help says so); fails fast on anything else. */
export function readServerMode(spec: { readonly usage: string; readonly summary: string; readonly env?: readonly CommandVariable[] }): ServerMode {
  const { values } = readCommandLine({ ...spec, flags: { mode: { type: "string", valueName: "h2|h1", description: "h2: gRPC over h2c; h1: Connect JSON over HTTP/1.1 (required)" } } });
  const mode = values.mode;
  if (mode !== "h2" && mode !== "h1") {
    throw new Error(`--mode must be h2 or h1, got ${String(mode)}`);
  }
  return mode;
}

/** Prints the ready line. */
export function announceReady(port: number, detail?: string): void {
  const line: ReadyLine = detail === undefined ? { ready: true, port } : { ready: true, port, detail };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Prints the unavailable line and exits. */
export function announceUnavailable(reason: string): never {
  const line: UnavailableLine = { unavailable: reason };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  process.exit(0);
}

/** Runs `close` on SIGTERM/SIGINT, then exits (after at most 2 s, whatever close does). */
export function closeOnSignal(close: () => unknown): void {
  const stop = () => {
    setTimeout(() => process.exit(0), 2000).unref();
    Promise.resolve()
      .then(close)
      .finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
