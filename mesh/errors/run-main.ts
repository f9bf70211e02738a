// How every entry point (npm start, each service's main, the launcher, the benchmarks) fails at start-up:
// one line `WEFT_ERR_...: <what>, set <VARIABLE> to ...` on stderr and exit code 1; the stack only with
// LOG_LEVEL=debug, so a newcomer reads the fix, not a trace.

import { isWeftError } from "./weft-error.ts";

/** A hint, or one chosen from the error (e.g. by its cause's errno). */
export type StartupHint = string | ((err: unknown) => string);

/** Options of {@link runMain} and {@link exitOnStartupError}. */
export interface StartupErrorOptions {
  /** Hints appended to errors of the given code whose message has none (", set PORT to ..."). */
  readonly hints?: Readonly<Partial<Record<string, StartupHint>>>;
  /** The environment read for LOG_LEVEL. Default: `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Socket errors of a listener, as raw Node errors carry them (when no host wrapped them). */
const LISTEN_ERRNOS = new Set(["EADDRINUSE", "EADDRNOTAVAIL", "EACCES", "ENOTFOUND", "EAI_AGAIN"]);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * The one line printed for a start-up failure. Errors with a `WEFT_ERR_*` code keep it (plus the hint
 * for that code when the message gives none); a raw listen error becomes WEFT_ERR_HOST_LISTEN; anything
 * else is WEFT_ERR_STARTUP with its message's first line.
 */
export function describeStartupError(err: unknown, options: StartupErrorOptions = {}): string {
  const raw = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  let code: string;
  if (isWeftError(err) || raw?.startsWith("WEFT_ERR_")) code = raw!;
  else if (raw !== undefined && LISTEN_ERRNOS.has(raw)) code = "WEFT_ERR_HOST_LISTEN";
  else code = "WEFT_ERR_STARTUP";
  let line = `${code}: ${message.split("\n")[0]}`;
  const given = options.hints?.[code];
  const hint = typeof given === "function" ? given(err) : given;
  if (hint !== undefined && !/, set [A-Z_]+ /.test(line)) line += `, ${hint}`;
  if (code === "WEFT_ERR_STARTUP") line += " (LOG_LEVEL=debug prints the stack)";
  return line;
}

/** Prints the one line for `err` (and the stack at LOG_LEVEL=debug) to stderr and exits with code 1. */
export function exitOnStartupError(err: unknown, options: StartupErrorOptions = {}): never {
  const env = options.env ?? process.env;
  process.stderr.write(describeStartupError(err, options) + "\n");
  if (env.LOG_LEVEL === "debug" && err instanceof Error && err.stack !== undefined) process.stderr.write(err.stack + "\n");
  process.exit(1);
}

/** Runs an entry point's start-up; any failure ends the process through {@link exitOnStartupError}. */
export async function runMain<T>(main: () => T | Promise<T>, options: StartupErrorOptions = {}): Promise<T> {
  try {
    return await main();
  } catch (err) {
    exitOnStartupError(err, options);
  }
}

/** The hint for WEFT_ERR_HOST_LISTEN in processes that read HOST and PORT. */
export const HOST_PORT_HINTS: Readonly<Partial<Record<string, StartupHint>>> = Object.freeze({
  WEFT_ERR_HOST_LISTEN: (err: unknown) => {
    const errno = codeOf((err as { cause?: unknown } | null)?.cause) ?? codeOf(err);
    return errno === "EADDRINUSE" || errno === "EACCES"
      ? "set PORT to a free port (0 picks one; below 1024 needs privileges)"
      : "set HOST to an address of this machine such as 127.0.0.1 or 0.0.0.0";
  },
});
