// Connect JSON and binary over HTTP/1.1 with plain fetch (what curl and browsers send), and the three
// protocols through connect-node clients over HTTP/1.1 and HTTP/2, all on the host's one port.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { UnaryCallRequestSchema, UnaryCallResponseSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { engines } from "./engines.ts";
import { connectGetQuery, startTestHost, TestService, type StartedHost } from "./harness.ts";
import { SECRET_DETAIL, THROW_PLAIN_ERROR } from "../support/test-service.ts";

const json = { "content-type": "application/json" };

for (const engine of engines) {
  describe(`Connect over HTTP/1.1 with fetch [${engine.name}]`, () => {
    let started: StartedHost;
    let base: string;

    beforeAll(async () => {
      started = await startTestHost(engine, { version: "1.2.3-test", instanceId: "wire-instance" });
      base = `${started.url}/weft.testing.v1.TestService`;
    });
    afterAll(() => started?.host.close());

    it("answers a JSON POST", async () => {
      const res = await fetch(`${base}/UnaryCall`, { method: "POST", headers: json, body: JSON.stringify({ responseSize: 4 }) });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ payload: { body: "AAAAAA==" }, servedBy: "wire-test" });
    });

    it("answers a GET of a NO_SIDE_EFFECTS method (Connect GET encoding)", async () => {
      const res = await fetch(`${base}/CacheableUnaryCall${connectGetQuery({ responseSize: 2 })}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ payload: { body: "AAA=" }, servedBy: "wire-test" });
    });

    it("refuses a GET of a method with side effects", async () => {
      const res = await fetch(`${base}/UnaryCall${connectGetQuery({ responseSize: 2 })}`);
      expect(res.status).toBe(405);
      await res.arrayBuffer();
    });

    it("answers a binary (application/proto) POST", async () => {
      const body = toBinary(UnaryCallRequestSchema, create(UnaryCallRequestSchema, { responseSize: 3 }));
      const res = await fetch(`${base}/UnaryCall`, { method: "POST", headers: { "content-type": "application/proto" }, body });
      expect(res.status).toBe(200);
      const message = fromBinary(UnaryCallResponseSchema, new Uint8Array(await res.arrayBuffer()));
      expect(message.payload?.body.length).toBe(3);
    });

    it("maps an error code to its HTTP status and a Connect JSON error body", async () => {
      const res = await fetch(`${base}/UnaryCall`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ responseStatus: { code: Code.NotFound, message: "product p-1 not found" } }),
      });
      expect(res.status).toBe(404);
      const body = (await res.json()) as { code: string; message: string; details: { type: string }[] };
      expect({ code: body.code, message: body.message }).toEqual({ code: "not_found", message: "product p-1 not found" });
      expect(body.details.map((d) => d.type)).toEqual(["weft.testing.v1.EchoStatus"]);
    });

    it("hides an unexpected handler error behind INTERNAL", async () => {
      const res = await fetch(`${base}/UnaryCall`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ payload: { body: Buffer.from(THROW_PLAIN_ERROR).toString("base64") } }),
      });
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(JSON.parse(text)).toEqual({ code: "internal", message: "internal error" });
      expect(text).not.toContain("secret");
      expect(JSON.stringify(started.logger.errors)).toContain(SECRET_DETAIL);
    });

    it("answers an unknown service and an unknown method with unimplemented (HTTP 404, no such route)", async () => {
      for (const path of ["/weft.testing.v1.NoSuchService/Call", "/weft.testing.v1.TestService/NoSuchMethod", "/"]) {
        const res = await fetch(`${started.url}${path}`, { method: "POST", headers: json, body: "{}" });
        expect(res.status, path).toBe(404);
        expect((await res.json()).code, path).toBe("unimplemented");
      }
    });

    it("answers a declared method without a handler with unimplemented (HTTP 501)", async () => {
      const res = await fetch(`${base}/UnimplementedCall`, { method: "POST", headers: json, body: "{}" });
      expect(res.status).toBe(501);
      expect((await res.json()).code).toBe("unimplemented");
    });

    it("serves AdminService.GetStatus by GET", async () => {
      const res = await fetch(`${started.url}/weft.mesh.v1.AdminService/GetStatus${connectGetQuery({})}`);
      expect(res.status).toBe(200);
      const status = await res.json();
      expect(status).toMatchObject({
        instanceId: "wire-instance",
        version: "1.2.3-test",
        services: [{ name: "weft.testing.v1.TestService", serving: true }],
      });
      expect(Number(status.uptimeMs)).toBeGreaterThanOrEqual(0);
      expect(status.draining).toBeUndefined(); // false is the proto3 default, omitted in JSON
    });
  });

  describe(`every protocol over HTTP/1.1 and HTTP/2 through connect-node clients [${engine.name}]`, () => {
    let started: StartedHost;
    beforeAll(async () => {
      started = await startTestHost(engine);
    });
    afterAll(() => started?.host.close());

    const transports: [string, () => Transport][] = [
      ["connect h1", () => createConnectTransport({ baseUrl: started.url, httpVersion: "1.1" })],
      ["connect h1 binary", () => createConnectTransport({ baseUrl: started.url, httpVersion: "1.1", useBinaryFormat: true })],
      ["connect h1 GET", () => createConnectTransport({ baseUrl: started.url, httpVersion: "1.1", useHttpGet: true })],
      ["connect h2", () => createConnectTransport({ baseUrl: started.url, httpVersion: "2" })],
      ["grpc-web h1", () => createGrpcWebTransport({ baseUrl: started.url, httpVersion: "1.1" })],
      ["grpc-web h2", () => createGrpcWebTransport({ baseUrl: started.url, httpVersion: "2" })],
      ["grpc h2", () => createGrpcTransport({ baseUrl: started.url })],
    ];
    it.each(transports)("%s: unary, error, server stream, admin", async (_name, makeTransport) => {
      const client = createClient(TestService, makeTransport());
      const res = await client.cacheableUnaryCall({ responseSize: 5 });
      expect(res.payload?.body.length).toBe(5);
      const err = await client.unaryCall({ responseStatus: { code: Code.FailedPrecondition, message: "out of stock: 0 left" } }).catch((e) => e);
      expect(ConnectError.from(err).code).toBe(Code.FailedPrecondition);
      expect(ConnectError.from(err).rawMessage).toBe("out of stock: 0 left");
      const sizes: number[] = [];
      for await (const m of client.streamingOutputCall({ responseParameters: [{ size: 1 }, { size: 2 }] })) sizes.push(m.payload?.body.length ?? -1);
      expect(sizes).toEqual([1, 2]);
      const admin = createClient(AdminService, makeTransport());
      expect((await admin.getStatus({})).services.map((s) => s.name)).toEqual(["weft.testing.v1.TestService"]);
    });
  });
}
