// withValidation on its own: unary and server-streaming requests are checked before the handler, each
// message of a client or bidi stream as the handler reads it, methods whose input has no rules are left
// as they were, and the refusal carries the buf.validate.Violations detail.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { StreamingInputCallRequestSchema, StreamingOutputCallRequestSchema, TestService, UnaryCallRequestSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { violationsOf } from "../../test/support/violations.ts";
import { withValidation } from "./index.ts";

const context = {} as HandlerContext;
const big = () => ({ payload: { body: new Uint8Array(4 * 1024 * 1024 + 1) } });

async function failure(run: () => unknown): Promise<ConnectError> {
  try {
    await run();
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("expected a failure");
}

describe("withValidation", () => {
  it("refuses a unary request that breaks a rule before the handler runs, with the violations as a detail", async () => {
    let ran = 0;
    const impl = withValidation(TestService, { unaryCall: () => (ran++, {}) });
    await impl.unaryCall!(create(UnaryCallRequestSchema, { responseSize: 16 }), context);
    expect(ran).toBe(1);
    const err = await failure(() => impl.unaryCall!(create(UnaryCallRequestSchema, { responseSize: -1, sleepMs: 60_001 }), context));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(violationsOf(err)).toEqual([["response_size", "int32.gte_lte"], ["sleep_ms", "int32.gte_lte"]]);
    expect(err.rawMessage).toBe("response_size: must be greater than or equal to 0 and less than or equal to 4194304 [int32.gte_lte]; sleep_ms: must be greater than or equal to 0 and less than or equal to 60000 [int32.gte_lte]");
    expect(ran).toBe(1);
  });

  it("checks each message of a client stream as the handler reads it; nested rules count (payload.body)", async () => {
    const seen: number[] = [];
    const impl = withValidation(TestService, {
      async streamingInputCall(requests) {
        for await (const r of requests) seen.push(r.payload?.body.length ?? 0);
        return {};
      },
    });
    async function* input() {
      yield create(StreamingInputCallRequestSchema, { payload: { body: new Uint8Array(3) } });
      yield create(StreamingInputCallRequestSchema, big());
      yield create(StreamingInputCallRequestSchema, { payload: { body: new Uint8Array(5) } });
    }
    const err = await failure(() => impl.streamingInputCall!(input(), context));
    expect(violationsOf(err)).toEqual([["payload.body", "bytes.max_len"]]);
    expect(seen).toEqual([3]);
  });

  // The validator loads at the first call: that call waits for it, the later ones find it loaded.
  it("refuses a server-streaming request that breaks a rule before the handler runs, at the first call (which loads the validator) and after", async () => {
    let ran = 0;
    const impl = withValidation(TestService, {
      async *streamingOutputCall() {
        ran++;
        yield {};
      },
    });
    const drain = async (body: Uint8Array) => {
      for await (const _ of impl.streamingOutputCall!(create(StreamingOutputCallRequestSchema, { payload: { body } }), context) as AsyncIterable<unknown>);
    };
    const early = await failure(() => drain(big().payload.body));
    expect(violationsOf(early)).toEqual([["payload.body", "bytes.max_len"]]);
    expect(ran).toBe(0);
    await drain(new Uint8Array(3));
    const later = await failure(() => drain(big().payload.body));
    expect(violationsOf(later)).toEqual([["payload.body", "bytes.max_len"]]);
    expect(ran).toBe(1);
  });

  it("leaves methods without rules and unimplemented methods as they were", () => {
    const emptyCall = () => ({});
    const impl = withValidation(TestService, { emptyCall });
    expect(impl.emptyCall).toBe(emptyCall);
    expect(impl.unaryCall).toBeUndefined();
  });
});
