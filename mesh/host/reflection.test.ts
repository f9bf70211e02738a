import { describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.ts";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createReflectionIndex } from "./reflection.ts";

describe("createReflectionIndex", () => {
  const index = createReflectionIndex([TestService, Health]);

  it("lists the services, sorted", () => {
    expect(index.serviceNames).toEqual(["grpc.health.v1.Health", "weft.testing.v1.TestService"]);
  });

  it("finds the file of services, methods, messages, fields, nested enums and enum values", () => {
    const file = (symbol: string) => index.fileContainingSymbol(symbol)?.proto.name;
    expect(file("weft.testing.v1.TestService")).toBe("weft/testing/v1/test.proto");
    expect(file("weft.testing.v1.TestService.UnaryCall")).toBe("weft/testing/v1/test.proto");
    expect(file(".weft.testing.v1.Payload")).toBe("weft/testing/v1/test.proto");
    expect(file("weft.testing.v1.Payload.body")).toBe("weft/testing/v1/test.proto");
    expect(file("grpc.health.v1.HealthCheckResponse.ServingStatus")).toBe("grpc/health/v1/health.proto");
    expect(file("grpc.health.v1.HealthCheckResponse.SERVING")).toBe("grpc/health/v1/health.proto");
    expect(file("weft.testing.v1.Nope")).toBeUndefined();
    expect(index.fileByName("grpc/health/v1/health.proto")?.proto.package).toBe("grpc.health.v1");
  });

  it("sends a file once per stream, except the file asked for", () => {
    const file = index.fileByName("weft/testing/v1/test.proto")!;
    const sent = new Set<string>();
    // The file and every file it imports, directly or not (test.proto -> buf/validate -> descriptor, ...).
    const imported = new Set<string>();
    const visit = (f: typeof file) => f.dependencies.forEach((d) => imported.has(d.name) || (imported.add(d.name), visit(d)));
    visit(file);
    expect(imported.has("buf/validate/validate")).toBe(true);
    expect(index.encodeWithDependencies(file, sent)).toHaveLength(1 + imported.size);
    expect(index.encodeWithDependencies(file, sent)).toHaveLength(1);
  });

  it("answers extension questions for known messages only", () => {
    expect(index.extensionNumbers("weft.testing.v1.Payload")).toEqual([]);
    expect(index.extensionNumbers("no.Such")).toBeUndefined();
    expect(index.fileContainingExtension("weft.testing.v1.Payload", 100)).toBeUndefined();
  });
});
