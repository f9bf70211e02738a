// The host's minimal logging contract: JSON lines by default, replaceable by the caller. Every line
// written inside a traced call carries that call's trace_id and span_id (read through
// @opentelemetry/api, so nothing is read when tracing is off).

import { context, trace } from "@opentelemetry/api";
import { WeftError } from "../errors/index.ts";

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

/** Levels of the JSON logger, least to most severe; "off" writes nothing. */
export type LogLevel = "debug" | "info" | "error" | "off";

const LEVELS: readonly LogLevel[] = ["debug", "info", "error", "off"];

/** Options of {@link createJsonLogger}. */
export interface JsonLoggerOptions {
  /** Lines below this level are dropped. Default: `LOG_LEVEL` from the environment, else "info". */
  readonly level?: LogLevel;
}

/** Reads `LOG_LEVEL` ("debug", "info", "error" or "off"; default "info"); throws WEFT_ERR_TELEMETRY_CONFIG on another value. */
export function readLogLevel(env: NodeJS.ProcessEnv): LogLevel {
  const raw = env.LOG_LEVEL?.trim().toLowerCase() || "info";
  if (raw === "warn") return "info"; // no warn lines exist; accept the common spelling
  if (!(LEVELS as readonly string[]).includes(raw)) {
    throw new WeftError("WEFT_ERR_TELEMETRY_CONFIG", `LOG_LEVEL is ${JSON.stringify(env.LOG_LEVEL)}, set LOG_LEVEL to one of ${LEVELS.join(", ")}`);
  }
  return raw as LogLevel;
}

// Field names whose values are never written: credentials that a caller might pass along by mistake.
const SECRET_FIELD = /pass(word|wd)?|secret|token|authorization|cookie|api[-_]?key|credential/i;

function redact(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in fields) out[key] = SECRET_FIELD.test(key) ? "[redacted]" : fields[key];
  return out;
}

/**
 * A logger writing one JSON object per line to stderr (errors) and stdout (info). Lines written inside
 * a traced call carry `trace_id` and `span_id`; fields named like credentials are written as "[redacted]".
 */
export function createJsonLogger(name: string, options: JsonLoggerOptions = {}): HostLogger {
  const level = LEVELS.indexOf(options.level ?? readLogLevel(process.env));
  const write = (stream: NodeJS.WriteStream, lineLevel: string, message: string, fields?: Readonly<Record<string, unknown>>) => {
    const span = trace.getSpan(context.active());
    const ids = span === undefined ? undefined : span.spanContext();
    const line: Record<string, unknown> = { time: new Date().toISOString(), level: lineLevel, name, message };
    if (ids !== undefined && trace.isSpanContextValid(ids)) {
      line.trace_id = ids.traceId;
      line.span_id = ids.spanId;
    }
    stream.write(JSON.stringify(fields === undefined ? line : { ...line, ...redact(fields) }) + "\n");
  };
  const noop = () => {};
  return {
    error: level <= 2 ? (message, fields) => write(process.stderr, "error", message, fields) : noop,
    info: level <= 1 ? (message, fields) => write(process.stdout, "info", message, fields) : noop,
  };
}

/** A logger that drops everything (tests that provoke errors on purpose). */
export const silentLogger: HostLogger = Object.freeze({ error() {}, info() {} });
