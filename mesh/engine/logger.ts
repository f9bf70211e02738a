// The host's minimal logging contract: JSON lines by default, replaceable by the caller. Every line
// written inside a traced call carries that call's trace_id and span_id (read through
// @opentelemetry/api, so nothing is read when tracing is off).

import { context, trace } from "@opentelemetry/api";
import { WeftError } from "../errors/index.ts";
import { redactText, redactValue } from "./redact.ts";

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
  /** Where each line goes (without its newline). Default: errors to stderr, the rest to stdout. */
  readonly write?: (line: string, level: "info" | "error") => void;
}

/** Reads `LOG_LEVEL` ("debug", "info", "error" or "off"; default "info"); throws WEFT_ERR_TELEMETRY_CONFIG on another value. */
export function readLogLevel(env: NodeJS.ProcessEnv): LogLevel {
  const raw = env.LOG_LEVEL?.trim().toLowerCase() || "info";
  if (raw === "warn") return "info"; // no warn lines exist; accept the common spelling
  if (!(LEVELS as readonly string[]).includes(raw)) {
    throw new WeftError("WEFT_ERR_TELEMETRY_CONFIG", `LOG_LEVEL must be one of ${LEVELS.join(", ")}, got ${JSON.stringify(env.LOG_LEVEL)}`);
  }
  return raw as LogLevel;
}

/**
 * A logger writing one JSON object per line to stderr (errors) and stdout (info). Lines written inside
 * a traced call carry `trace_id` and `span_id`; credentials are written as "[redacted]" (mesh/engine redact.ts:
 * fields named like credentials, credential headers, and credential-shaped text in any string).
 */
export function createJsonLogger(name: string, options: JsonLoggerOptions = {}): HostLogger {
  const level = LEVELS.indexOf(options.level ?? readLogLevel(process.env));
  const out = options.write ?? ((line: string, lineLevel: "info" | "error") => (lineLevel === "error" ? process.stderr : process.stdout).write(line + "\n"));
  const write = (lineLevel: "info" | "error", message: string, fields?: Readonly<Record<string, unknown>>) => {
    const span = trace.getSpan(context.active());
    const ids = span === undefined ? undefined : span.spanContext();
    const line: Record<string, unknown> = { time: new Date().toISOString(), level: lineLevel, name, message: redactText(message) };
    if (ids !== undefined && trace.isSpanContextValid(ids)) {
      line.trace_id = ids.traceId;
      line.span_id = ids.spanId;
    }
    out(JSON.stringify(fields === undefined ? line : { ...line, ...(redactValue(fields) as Record<string, unknown>) }), lineLevel);
  };
  const noop = () => {};
  return {
    error: level <= 2 ? (message, fields) => write("error", message, fields) : noop,
    info: level <= 1 ? (message, fields) => write("info", message, fields) : noop,
  };
}

/** A logger that drops everything (tests that provoke errors on purpose). */
export const silentLogger: HostLogger = Object.freeze({ error() {}, info() {} });
