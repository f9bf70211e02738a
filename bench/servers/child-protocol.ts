// How a benchmark child process (a server or a client driver) talks to the runner: one JSON line on
// stdout. A server prints `{"ready":true,"port":N}` once it listens, or `{"unavailable":"why"}` when the
// implementation does not exist yet (the runner then reports the scenario as not available, never a
// number). A client driver prints its result object. SIGTERM stops a server.

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

/** Reads `--mode h2|h1` from argv; fails fast on anything else. */
export function parseMode(argv: readonly string[]): ServerMode {
  const i = argv.indexOf("--mode");
  const mode = i >= 0 ? argv[i + 1] : undefined;
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
