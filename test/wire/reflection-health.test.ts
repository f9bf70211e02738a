// gRPC server reflection (what buf curl and grpcurl use), grpc.health.v1 and the in-process drain
// behaviour seen by health probes and callers.

import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.ts";
import { ServerReflection as ReflectionV1, type ServerReflectionResponse } from "../../gen/grpc/reflection/v1/reflection_pb.ts";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.ts";
import { AdminService } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { engines } from "./engines.ts";
import { runBuf, startTestHost, TestService, type StartedHost } from "./harness.ts";

const TEST_SERVICE = "weft.testing.v1.TestService";

for (const engine of engines) {
  describe(`buf curl with --reflect only [${engine.name}]`, () => {
    let started: StartedHost;
    beforeAll(async () => {
      started = await startTestHost(engine);
    });
    afterAll(() => started?.host.close());

    const protocols: [string, string[]][] = [
      ["grpc", ["--protocol", "grpc", "--http2-prior-knowledge"]],
      ["connect", ["--protocol", "connect"]],
      ["grpcweb", ["--protocol", "grpcweb"]],
    ];
    it.each(protocols)("calls a method over %s", async (_name, flags) => {
      const out = await runBuf(["curl", ...flags, "--reflect", "-d", '{"responseSize":3}', `${started.url}/${TEST_SERVICE}/UnaryCall`]);
      expect(out.stderr).toBe("");
      expect(out.code).toBe(0);
      expect(JSON.parse(out.stdout)).toEqual({ payload: { body: "AAAA" }, servedBy: "wire-test" });
    });

    it("lists services over both reflection versions", async () => {
      for (const reflectProtocol of ["grpc-v1", "grpc-v1alpha"]) {
        const out = await runBuf(["curl", "--reflect", "--reflect-protocol", reflectProtocol, "--list-services", started.url]);
        expect(out.code, out.stderr).toBe(0);
        expect(out.stdout.trim().split("\n")).toEqual([
          "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection",
          "weft.mesh.v1.AdminService",
          TEST_SERVICE,
        ]);
      }
    });

    it("reports a handler's error code and message", async () => {
      const out = await runBuf([
        "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect",
        "-d", '{"responseStatus":{"code":5,"message":"no such product: p-9"}}',
        `${started.url}/${TEST_SERVICE}/UnaryCall`,
      ]);
      expect(out.code).not.toBe(0);
      expect(out.stderr).toContain("not_found");
      expect(out.stderr).toContain("no such product: p-9");
    });
  });

  describe(`reflection file lookups [${engine.name}]`, () => {
    let started: StartedHost;
    beforeAll(async () => {
      started = await startTestHost(engine);
    });
    afterAll(() => started?.host.close());

    for (const [version, service] of [["v1", ReflectionV1], ["v1alpha", ReflectionV1alpha]] as const) {
      it(`answers list, symbol, method, file-name and missing-symbol requests (${version})`, async () => {
        const client = createClient(service as typeof ReflectionV1, createGrpcTransport({ baseUrl: started.url }));
        const requests: Parameters<typeof client.serverReflectionInfo>[0] = (async function* () {
          yield { host: "", messageRequest: { case: "listServices", value: "" } };
          yield { host: "", messageRequest: { case: "fileContainingSymbol", value: TEST_SERVICE } };
          yield { host: "", messageRequest: { case: "fileContainingSymbol", value: `${TEST_SERVICE}.UnaryCall` } };
          yield { host: "", messageRequest: { case: "fileContainingSymbol", value: "weft.testing.v1.Payload" } };
          yield { host: "", messageRequest: { case: "fileByFilename", value: "grpc/health/v1/health.proto" } };
          yield { host: "", messageRequest: { case: "fileContainingSymbol", value: "weft.testing.v1.Nope" } };
          yield { host: "", messageRequest: { case: "allExtensionNumbersOfType", value: "weft.testing.v1.Payload" } };
        })();
        const answers: ServerReflectionResponse["messageResponse"][] = [];
        for await (const answer of client.serverReflectionInfo(requests)) answers.push(answer.messageResponse);
        expect(answers).toHaveLength(7);
        const [list, bySymbol, byMethod, byMessage, byName, missing, extensions] = answers;
        expect(list.case).toBe("listServicesResponse");
        expect(list.case === "listServicesResponse" && list.value.service.map((s) => s.name)).toContain(TEST_SERVICE);
        const files = (a: (typeof answers)[number]) =>
          a.case === "fileDescriptorResponse" ? a.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b)) : [];
        const testFile = files(bySymbol);
        expect(testFile[0]?.name).toBe("weft/testing/v1/test.proto");
        expect(testFile[0]?.service.map((s) => s.name)).toEqual(["TestService"]);
        expect(testFile[0]?.service[0].method.find((m) => m.name === "CacheableUnaryCall")?.options?.idempotencyLevel).toBe(1);
        // The same stream has sent that file: a later lookup still names it first.
        expect(files(byMethod)[0]?.name).toBe("weft/testing/v1/test.proto");
        expect(files(byMessage)[0]?.name).toBe("weft/testing/v1/test.proto");
        expect(files(byName)[0]?.service[0].name).toBe("Health");
        expect(missing.case).toBe("errorResponse");
        expect(missing.case === "errorResponse" && missing.value.errorCode).toBe(Code.NotFound);
        expect(extensions.case).toBe("allExtensionNumbersResponse");
      });
    }
  });

  describe(`grpc.health.v1 and drain [${engine.name}]`, () => {
    // A host per test: the drain test ends its host, and the tests may run in any order.
    let started: StartedHost;
    beforeEach(async () => {
      started = await startTestHost(engine, { drainGraceMs: 10_000 });
    });
    afterEach(() => started?.host.close());

    it("checks and lists per-service status, NOT_FOUND for unknown services", async () => {
      const health = createClient(Health, createGrpcTransport({ baseUrl: started.url }));
      expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
      expect((await health.check({ service: TEST_SERVICE })).status).toBe(Status.SERVING);
      const err = await health.check({ service: "no.Such" }).then(() => undefined, (e) => ConnectError.from(e));
      expect(err?.code).toBe(Code.NotFound);
      const list = await health.list({});
      expect(Object.keys(list.statuses).sort()).toEqual(["", TEST_SERVICE]);
    });

    it("watch follows status changes, then sees NOT_SERVING when the host drains; callers get UNAVAILABLE meanwhile", async () => {
      const transport = createGrpcTransport({ baseUrl: started.url });
      const health = createClient(Health, transport);
      const test = createClient(TestService, transport);
      const admin = createClient(AdminService, transport);
      const seen: Status[] = [];
      const watch = (async () => {
        for await (const r of health.watch({ service: TEST_SERVICE })) seen.push(r.status);
      })().catch((e) => ConnectError.from(e));

      await expect.poll(() => seen).toEqual([Status.SERVING]);
      started.host.health.set(TEST_SERVICE, "NOT_SERVING");
      await expect.poll(() => seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
      started.host.health.set(TEST_SERVICE, "SERVING");
      await expect.poll(() => seen).toEqual([Status.SERVING, Status.NOT_SERVING, Status.SERVING]);

      // A slow call holds the drain open while we look at the host from outside.
      const slow = test.unaryCall({ sleepMs: 800, responseSize: 1 });
      await expect.poll(() => started.host.inFlight).toBe(1);
      const drained = started.host.drain();
      await expect.poll(() => seen.at(-1)).toBe(Status.NOT_SERVING);
      expect((await health.check({ service: "" })).status).toBe(Status.NOT_SERVING);
      const refused = await test.emptyCall({}).catch((e) => ConnectError.from(e));
      expect(refused).toBeInstanceOf(ConnectError);
      expect((refused as ConnectError).code).toBe(Code.Unavailable);
      const status = await admin.getStatus({});
      expect(status.draining).toBe(true);
      expect(status.inFlight).toBe(1);
      expect((await slow).payload?.body.length).toBe(1);
      await drained;
      // The watch ended when the host closed (cleanly or with UNAVAILABLE, never hanging).
      const ended = await watch;
      expect(ended === undefined || ended.code === Code.Unavailable).toBe(true);
    });
  });
}
