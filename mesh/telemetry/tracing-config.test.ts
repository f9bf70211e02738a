import { describe, expect, it } from "vitest";
import { readTracingConfig, TelemetryConfigError } from "./tracing-config.ts";

describe("readTracingConfig", () => {
  it("is off without an OTLP endpoint, on with one (traces path appended), off again when disabled", () => {
    expect(readTracingConfig({}, "orders").enabled).toBe(false);
    const on = readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/" }, "orders");
    expect(on).toMatchObject({ enabled: true, tracesUrl: "http://127.0.0.1:4318/v1/traces", serviceName: "orders", sampler: "always_on", parentBased: true, ratio: 1 });
    expect(readTracingConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://j:4318/custom" }, "x").tracesUrl).toBe("http://j:4318/custom");
    expect(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://j:4318", OTEL_SDK_DISABLED: "true" }, "x").enabled).toBe(false);
    expect(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://j:4318", OTEL_TRACES_EXPORTER: "none" }, "x").enabled).toBe(false);
  });

  it("reads the sampler, its ratio, the service name and resource attributes", () => {
    const c = readTracingConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://j:4318",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.01",
      OTEL_RESOURCE_ATTRIBUTES: "service.name=from-attrs,deployment.environment.name=test%20env",
    }, "orders");
    expect(c).toMatchObject({ sampler: "traceidratio", parentBased: true, ratio: 0.01, serviceName: "from-attrs" });
    expect(c.resourceAttributes["deployment.environment.name"]).toBe("test env");
    expect(readTracingConfig({ OTEL_SERVICE_NAME: "named", OTEL_RESOURCE_ATTRIBUTES: "service.name=other" }, "x").serviceName).toBe("named");
    expect(readTracingConfig({ OTEL_TRACES_SAMPLER: "always_off" }, "x")).toMatchObject({ sampler: "always_off", parentBased: false });
  });

  it("names the variable of a bad value", () => {
    const bad: Record<string, string>[] = [
      { OTEL_TRACES_SAMPLER: "sometimes" },
      { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" },
      { OTEL_EXPORTER_OTLP_ENDPOINT: "jaeger:4318" },
      { OTEL_RESOURCE_ATTRIBUTES: "novalue" },
      { OTEL_BSP_SCHEDULE_DELAY: "soon" },
    ];
    for (const env of bad) {
      const name = Object.keys(env).at(-1)!;
      expect(() => readTracingConfig(env, "x"), name).toThrow(TelemetryConfigError);
      expect(() => readTracingConfig(env, "x"), name).toThrow(name);
    }
  });
});
