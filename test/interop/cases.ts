// The call kinds of the interop matrix, modelled on the gRPC interop cases, written once against a
// connect-es client so every transport (connect-node's and Weft's) runs the same table.

import { expect } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { EchoStatusSchema, TestService, UnaryCallRequestSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import type { Transport } from "@connectrpc/connect";
import { ECHO_INITIAL, ECHO_TRAILING_BIN } from "../support/test-service.ts";
import { MATRIX_READ_MAX_BYTES } from "./servers.ts";
import type { RunningServer } from "./servers.ts";

export type TestClient = Client<typeof TestService>;

/** What a client can do (HTTP/1.1 transports cannot run full-duplex streams). */
export interface ClientCaps {
  readonly bidi: boolean;
  /** JSON on the wire (message sizes differ from the binary encoding). */
  readonly json?: boolean;
}

export interface CaseEnv {
  readonly client: TestClient;
  readonly gzipClient: TestClient;
  readonly transport: Transport;
  readonly server: RunningServer;
  readonly caps: ClientCaps;
}

export interface InteropCase {
  readonly name: string;
  /** Skip unless the client can do full duplex. */
  readonly bidi?: boolean;
  /** Skip unless the server enforces the matrix size limit. */
  readonly limits?: boolean;
  /** Skip unless the server sends error details. */
  readonly details?: boolean;
  /** Only for clients that send binary protobuf (sizes are binary sizes). */
  readonly binary?: boolean;
  readonly run: (env: CaseEnv) => Promise<void>;
}

const STATUS_MESSAGE = "\t\ttest status message with tab, CR\r, LF\n and non-BMP 😀 \u{1F600} end";

async function expectCode(p: Promise<unknown>, code: Code): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    const err = ConnectError.from(e);
    expect(Code[err.code], err.message).toBe(Code[code]);
    return err;
  }
  throw new Error(`expected ${Code[code]}, the call succeeded`);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const m of it) out.push(m);
  return out;
}

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}

/** A payload size such that UnaryCallRequest{payload, responseSize: 1} serialises to exactly `target` bytes. */
function payloadForSize(target: number): number {
  let n = target - 10;
  for (;;) {
    const size = toBinary(UnaryCallRequestSchema, create(UnaryCallRequestSchema, { payload: { body: new Uint8Array(n) }, responseSize: 1 })).length;
    if (size === target) return n;
    n += target - size;
  }
}

const BIN_VALUE = new Uint8Array([0xab, 0xab, 0xab]);
const binHeader = Buffer.from(BIN_VALUE).toString("base64");

export const CASES: InteropCase[] = [
  {
    name: "empty unary",
    run: async ({ client }) => {
      const r = await client.emptyCall({});
      expect(r.$typeName).toBe("weft.testing.v1.EmptyCallResponse");
    },
  },
  {
    name: "large unary (271828 B in, 314159 B out)",
    run: async ({ client }) => {
      const r = await client.unaryCall({ responseSize: 314159, payload: { body: new Uint8Array(271828) } });
      expect(r.payload?.body.length).toBe(314159);
    },
  },
  {
    name: "client streaming",
    run: async ({ client }) => {
      const sizes = [27182, 8, 1828, 45904];
      const r = await client.streamingInputCall(from(sizes.map((n) => ({ payload: { body: new Uint8Array(n) } }))));
      expect(r.aggregatedPayloadSize).toBe(74922);
    },
  },
  {
    name: "server streaming (sizes and order)",
    run: async ({ client }) => {
      const sizes = [31415, 9, 2653, 58979];
      const got = await collect(client.streamingOutputCall({ responseParameters: sizes.map((size) => ({ size })) }));
      expect(got.map((m) => m.payload?.body.length)).toEqual(sizes);
    },
  },
  {
    name: "bidi ping-pong",
    bidi: true,
    run: async ({ client }) => {
      const sizes = [31415, 9, 2653, 58979];
      const requests: { responseParameters: { size: number }[] }[] = [];
      let push: (() => void) | undefined;
      let ended = false;
      const input = (async function* () {
        for (;;) {
          if (requests.length > 0) yield requests.shift()!;
          else if (ended) return;
          else await new Promise<void>((r) => (push = r));
        }
      })();
      const send = (v: { responseParameters: { size: number }[] } | undefined) => {
        if (v === undefined) ended = true;
        else requests.push(v);
        push?.();
      };
      send({ responseParameters: [{ size: sizes[0] }] });
      const it = client.fullDuplexCall(input)[Symbol.asyncIterator]();
      for (let i = 0; i < sizes.length; i++) {
        const r = await it.next();
        expect(r.done).toBe(false);
        expect(r.value.payload?.body.length).toBe(sizes[i]);
        send(i + 1 < sizes.length ? { responseParameters: [{ size: sizes[i + 1] }] } : undefined);
      }
      expect((await it.next()).done).toBe(true);
    },
  },
  {
    name: "empty stream",
    run: async ({ client, caps }) => {
      const got = caps.bidi ? await collect(client.fullDuplexCall(from([]))) : await collect(client.streamingOutputCall({}));
      expect(got).toEqual([]);
    },
  },
  {
    name: "custom metadata (ASCII and -bin, headers and trailers), unary",
    run: async ({ client }) => {
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      await client.unaryCall({ responseSize: 314 }, {
        headers: { [ECHO_INITIAL]: "test_initial_metadata_value", [ECHO_TRAILING_BIN]: binHeader },
        onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t),
      });
      expect(header?.get(ECHO_INITIAL)).toBe("test_initial_metadata_value");
      expect(Buffer.from(trailer?.get(ECHO_TRAILING_BIN) ?? "", "base64")).toEqual(Buffer.from(BIN_VALUE));
    },
  },
  {
    name: "custom metadata, streaming",
    run: async ({ client }) => {
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      const got = await collect(client.streamingOutputCall({ responseParameters: [{ size: 5 }] }, {
        headers: { [ECHO_INITIAL]: "test_initial_metadata_value", [ECHO_TRAILING_BIN]: binHeader },
        onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t),
      }));
      expect(got.length).toBe(1);
      expect(header?.get(ECHO_INITIAL)).toBe("test_initial_metadata_value");
      expect(Buffer.from(trailer?.get(ECHO_TRAILING_BIN) ?? "", "base64")).toEqual(Buffer.from(BIN_VALUE));
    },
  },
  {
    name: "status code and message (tabs, CR/LF, non-BMP), unary and streaming",
    run: async ({ client }) => {
      const err = await expectCode(client.unaryCall({ responseStatus: { code: Code.Unknown, message: STATUS_MESSAGE } }), Code.Unknown);
      expect(err.rawMessage).toBe(STATUS_MESSAGE);
      const err2 = await expectCode(collect(client.streamingOutputCall({ responseParameters: [{ size: 1 }], responseStatus: { code: Code.Aborted, message: STATUS_MESSAGE } })), Code.Aborted);
      expect(err2.rawMessage).toBe(STATUS_MESSAGE);
    },
  },
  {
    name: "error details",
    details: true,
    run: async ({ client }) => {
      const err = await expectCode(client.unaryCall({ responseStatus: { code: Code.FailedPrecondition, message: "with details" } }), Code.FailedPrecondition);
      const [detail] = err.findDetails(EchoStatusSchema);
      expect(detail?.code).toBe(Code.FailedPrecondition);
      expect(detail?.message).toBe("with details");
    },
  },
  {
    name: "unimplemented method",
    run: async ({ client }) => {
      await expectCode(client.unimplementedCall({}), Code.Unimplemented);
    },
  },
  {
    name: "unimplemented service",
    run: async ({ transport }) => {
      // A service no server of the matrix serves (Weft's host serves grpc.health.v1 itself).
      await expectCode(createClient(CatalogService, transport).getProduct({}), Code.Unimplemented);
    },
  },
  {
    name: "cancel after begin",
    bidi: true,
    run: async ({ client }) => {
      const ac = new AbortController();
      const input = (async function* () {
        await new Promise((r) => setTimeout(r, 10_000));
      })();
      const p = collect(client.fullDuplexCall(input as AsyncIterable<never>, { signal: ac.signal }));
      setTimeout(() => ac.abort(), 50);
      await expectCode(p, Code.Canceled);
    },
  },
  {
    name: "cancel after first response",
    bidi: true,
    run: async ({ client }) => {
      const ac = new AbortController();
      const input = (async function* () {
        yield { responseParameters: [{ size: 31415 }] };
        await new Promise((r) => setTimeout(r, 10_000));
      })();
      const it = client.fullDuplexCall(input, { signal: ac.signal })[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.value?.payload?.body.length).toBe(31415);
      ac.abort();
      await expectCode(it.next(), Code.Canceled);
    },
  },
  {
    name: "deadline on a sleeping server",
    run: async ({ client }) => {
      const t0 = Date.now();
      await expectCode(client.unaryCall({ sleepMs: 5_000 }, { timeoutMs: 100 }), Code.DeadlineExceeded);
      expect(Date.now() - t0).toBeLessThan(3_000);
    },
  },
  {
    name: "message at the size limit passes, limit + 1 is RESOURCE_EXHAUSTED",
    limits: true,
    binary: true,
    run: async ({ client }) => {
      const n = payloadForSize(MATRIX_READ_MAX_BYTES);
      const ok = await client.unaryCall({ payload: { body: new Uint8Array(n) }, responseSize: 1 });
      expect(ok.payload?.body.length).toBe(1);
      await expectCode(client.unaryCall({ payload: { body: new Uint8Array(n + 1) }, responseSize: 1 }), Code.ResourceExhausted);
    },
  },
  {
    name: "gzip request and response",
    run: async ({ gzipClient }) => {
      const r = await gzipClient.unaryCall({ responseSize: 314159, payload: { body: new Uint8Array(271828) } });
      expect(r.payload?.body.length).toBe(314159);
      const got = await collect(gzipClient.streamingOutputCall({ responseParameters: [{ size: 20000 }, { size: 3 }] }));
      expect(got.map((m) => m.payload?.body.length)).toEqual([20000, 3]);
    },
  },
];
