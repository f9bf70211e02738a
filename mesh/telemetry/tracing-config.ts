// Tracing settings from the standard OpenTelemetry environment variables, read and checked in one place.

import { WeftError } from "../errors/index.ts";

/** Stable code of a bad telemetry setting (registered in mesh/errors/codes.ts). */
export const WEFT_ERR_TELEMETRY_CONFIG = "WEFT_ERR_TELEMETRY_CONFIG";

/** A telemetry setting that cannot be used; the message names the variable. */
export class TelemetryConfigError extends WeftError {
  declare readonly code: typeof WEFT_ERR_TELEMETRY_CONFIG;
  constructor(message: string) {
    super(WEFT_ERR_TELEMETRY_CONFIG, message);
  }
}

/** How this process traces. */
export interface TracingConfig {
  /** False when tracing is off: no SDK is loaded, no span is made, nothing is exported. */
  readonly enabled: boolean;
  /** OTLP HTTP/protobuf traces URL, e.g. "http://127.0.0.1:4318/v1/traces". */
  readonly tracesUrl: string;
  /** `OTEL_SERVICE_NAME`, else `service.name` of OTEL_RESOURCE_ATTRIBUTES, else the process's default. */
  readonly serviceName: string;
  /** Extra resource attributes (OTEL_RESOURCE_ATTRIBUTES), e.g. deployment.environment. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** Root sampling: "always_on", "always_off" or "traceidratio" (with `ratio`). */
  readonly sampler: "always_on" | "always_off" | "traceidratio";
  /** True (the default) to follow the caller's sampling decision when there is a parent. */
  readonly parentBased: boolean;
  /** Share of root traces sampled by "traceidratio", 0 to 1. */
  readonly ratio: number;
  /** `OTEL_BSP_SCHEDULE_DELAY`: most time a finished span waits before export, in ms. Default 1000. */
  readonly exportDelayMs: number;
}

const SAMPLERS = ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"];

/**
 * Reads the OpenTelemetry variables: tracing is on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set (there is somewhere to send spans), unless `OTEL_SDK_DISABLED`
 * is true or `OTEL_TRACES_EXPORTER` is "none". Throws TelemetryConfigError naming a bad variable.
 */
export function readTracingConfig(env: NodeJS.ProcessEnv, defaultServiceName: string): TracingConfig {
  const resourceAttributes = parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES);
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || resourceAttributes["service.name"] || defaultServiceName;
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const tracesUrl = specific ? checkUrl("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", specific) : base ? `${checkUrl("OTEL_EXPORTER_OTLP_ENDPOINT", base).replace(/\/+$/, "")}/v1/traces` : "";
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() || "otlp";
  if (exporter !== "otlp" && exporter !== "none") throw new TelemetryConfigError(`OTEL_TRACES_EXPORTER is ${JSON.stringify(exporter)}, set OTEL_TRACES_EXPORTER to "otlp" or "none"`);
  const disabled = (env.OTEL_SDK_DISABLED?.trim().toLowerCase() ?? "") === "true";
  const samplerName = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || "parentbased_always_on";
  if (!SAMPLERS.includes(samplerName)) throw new TelemetryConfigError(`OTEL_TRACES_SAMPLER is ${JSON.stringify(samplerName)}, set OTEL_TRACES_SAMPLER to one of ${SAMPLERS.join(", ")}`);
  const parentBased = samplerName.startsWith("parentbased_");
  const sampler = samplerName.replace("parentbased_", "") as TracingConfig["sampler"];
  const rawRatio = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  const ratio = rawRatio === undefined || rawRatio === "" || sampler !== "traceidratio" ? 1 : Number(rawRatio);
  if (!(ratio >= 0 && ratio <= 1)) throw new TelemetryConfigError(`OTEL_TRACES_SAMPLER_ARG is ${JSON.stringify(rawRatio)}, set OTEL_TRACES_SAMPLER_ARG to a number from 0 to 1`);
  const rawDelay = env.OTEL_BSP_SCHEDULE_DELAY?.trim();
  const exportDelayMs = rawDelay === undefined || rawDelay === "" ? 1000 : Number(rawDelay);
  if (!Number.isInteger(exportDelayMs) || exportDelayMs < 1 || exportDelayMs > 60_000) {
    throw new TelemetryConfigError(`OTEL_BSP_SCHEDULE_DELAY is ${JSON.stringify(rawDelay)}, set OTEL_BSP_SCHEDULE_DELAY to an integer from 1 to 60000 (ms)`);
  }
  return { enabled: tracesUrl !== "" && !disabled && exporter === "otlp", tracesUrl, serviceName, resourceAttributes, sampler, parentBased, ratio, exportDelayMs };
}

function checkUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TelemetryConfigError(`${name} is ${JSON.stringify(value)}, set ${name} to an http(s) URL such as http://127.0.0.1:4318`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new TelemetryConfigError(`${name} is ${JSON.stringify(value)}, set ${name} to an http(s) URL such as http://127.0.0.1:4318`);
  return value;
}

// W3C Baggage-like "key1=value1,key2=value2", values percent-encoded.
function parseResourceAttributes(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw.trim() === "") return out;
  for (const pair of raw.split(",")) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq).trim();
    if (eq <= 0 || key === "") throw new TelemetryConfigError(`OTEL_RESOURCE_ATTRIBUTES is ${JSON.stringify(raw)}, set OTEL_RESOURCE_ATTRIBUTES to key=value pairs separated by commas`);
    try {
      out[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      throw new TelemetryConfigError(`OTEL_RESOURCE_ATTRIBUTES has a badly encoded value for ${JSON.stringify(key)}, set OTEL_RESOURCE_ATTRIBUTES to percent-encoded values`);
    }
  }
  return out;
}
