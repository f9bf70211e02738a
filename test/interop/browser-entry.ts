// Bundled for the browser by browser.test.ts: runs a subset of the matrix with connect-web's
// transports from inside headless Chromium and reports results to the test.

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";

type Result = { transport: string; name: string; ok: boolean; detail: string };

async function runAll(baseUrl: string): Promise<Result[]> {
  const transports = {
    "connect-web Connect JSON": createConnectTransport({ baseUrl }),
    "connect-web Connect proto": createConnectTransport({ baseUrl, useBinaryFormat: true }),
    "connect-web Connect GET": createConnectTransport({ baseUrl, useHttpGet: true }),
    "connect-web gRPC-Web": createGrpcWebTransport({ baseUrl }),
  };
  const cases: Record<string, (c: ReturnType<typeof createClient<typeof TestService>>) => Promise<string | undefined>> = {
    "empty unary": async (c) => ((await c.emptyCall({})).$typeName === "weft.testing.v1.EmptyCallResponse" ? undefined : "wrong type"),
    "large unary": async (c) => {
      const r = await c.unaryCall({ responseSize: 314159, payload: { body: new Uint8Array(271828) } });
      return r.payload?.body.length === 314159 ? undefined : `got ${r.payload?.body.length}`;
    },
    "cacheable unary": async (c) => {
      const r = await c.cacheableUnaryCall({ responseSize: 7 });
      return r.payload?.body.length === 7 ? undefined : `got ${r.payload?.body.length}`;
    },
    "server streaming": async (c) => {
      const sizes: number[] = [];
      for await (const m of c.streamingOutputCall({ responseParameters: [{ size: 31415 }, { size: 9 }, { size: 2653 }] })) sizes.push(m.payload?.body.length ?? -1);
      return sizes.join(",") === "31415,9,2653" ? undefined : sizes.join(",");
    },
    "status and message": async (c) => {
      const message = "\ttab, CR\r, LF\n, non-BMP 😀";
      try {
        await c.unaryCall({ responseStatus: { code: Code.PermissionDenied, message } });
        return "no error";
      } catch (e) {
        const err = ConnectError.from(e);
        return err.code === Code.PermissionDenied && err.rawMessage === message ? undefined : `${err.code} ${JSON.stringify(err.rawMessage)}`;
      }
    },
    "custom metadata": async (c) => {
      let header: Headers | undefined;
      await c.unaryCall({}, { headers: { "x-grpc-test-echo-initial": "browser_value" }, onHeader: (h) => (header = h) });
      return header?.get("x-grpc-test-echo-initial") === "browser_value" ? undefined : `header ${header?.get("x-grpc-test-echo-initial")}`;
    },
  };
  const out: Result[] = [];
  for (const [tname, t] of Object.entries(transports)) {
    const client = createClient(TestService, t);
    for (const [name, run] of Object.entries(cases)) {
      try {
        const problem = await run(client);
        out.push({ transport: tname, name, ok: problem === undefined, detail: problem ?? "" });
      } catch (e) {
        out.push({ transport: tname, name, ok: false, detail: String(e) });
      }
    }
  }
  return out;
}

(globalThis as unknown as { weftInterop: unknown }).weftInterop = { runAll };
