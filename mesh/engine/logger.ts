// The host's minimal logging contract: JSON lines by default, replaceable by the caller (telemetry
// will plug its trace-aware logger in here).

/** Where the host reports things that are not the caller's business (unexpected errors, socket errors). */
export interface HostLogger {
  /** Something went wrong that the caller must not see (it was answered with a generic error). */
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
  /** Something noteworthy in the host's life (listening, draining, closed). */
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** Serialises an error (with its stack and cause) for a server-side log line. */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    return {
      error: err.message,
      errorName: err.name,
      stack: err.stack,
      ...(err.cause !== undefined ? { cause: errorFields(err.cause) } : {}),
    };
  }
  return { error: String(err) };
}

/** A logger writing one JSON object per line to stderr (errors) and stdout (info). */
export function createJsonLogger(name: string): HostLogger {
  const write = (stream: NodeJS.WriteStream, level: string, message: string, fields?: Readonly<Record<string, unknown>>) => {
    stream.write(JSON.stringify({ time: new Date().toISOString(), level, name, message, ...fields }) + "\n");
  };
  return {
    error: (message, fields) => write(process.stderr, "error", message, fields),
    info: (message, fields) => write(process.stdout, "info", message, fields),
  };
}

/** A logger that drops everything (tests that provoke errors on purpose). */
export const silentLogger: HostLogger = Object.freeze({ error() {}, info() {} });
