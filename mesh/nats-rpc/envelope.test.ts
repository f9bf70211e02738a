// Connect over NATS envelope: requests and replies round-trip every field, truncated or foreign bytes are refused.

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { EchoStatusSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { encodeErrorReply, encodeReply, encodeRequest, parseReply, parseRequest } from "./envelope.ts";
import { readMetadata, WireError } from "./wire.ts";

describe("Connect over NATS envelope", () => {
  it("round-trips code, message, details and metadata of an error", () => {
    const err = new ConnectError("bad thing: ü %", Code.FailedPrecondition, { "x-why": "because" }, [
      { desc: EchoStatusSchema, value: create(EchoStatusSchema, { code: 3, message: "detail" }) },
    ]);
    const reply = parseReply(encodeErrorReply(7, new Headers({ "x-h": "1" }), new Headers({ "x-t": "2" }), err));
    expect(reply.callId).toBe(7);
    const back = reply.error!;
    expect(back.code).toBe(Code.FailedPrecondition);
    expect(back.rawMessage).toBe("bad thing: ü %");
    expect(back.metadata.get("x-why")).toBe("because");
    expect(back.metadata.get("x-h")).toBe("1");
    expect(back.metadata.get("x-t")).toBe("2");
    const [detail] = back.findDetails(EchoStatusSchema);
    expect(detail).toMatchObject({ code: 3, message: "detail" });
  });

  it("round-trips a request's call id, deadline, metadata (binary too) and message", () => {
    const header = new Headers({ "x-a": "caf\u00e9 1", "x-trace-bin": "AAEC/w==" });
    header.append("x-a", "second");
    const message = new Uint8Array([1, 2, 3, 250]);
    const req = parseRequest(encodeRequest(0x0fffffff, 0xffffffff, header, message));
    expect(req.callId).toBe(0x0fffffff);
    expect(req.timeoutMs).toBe(0xffffffff);
    expect([...req.body]).toEqual([...message]);
    const back = new Headers();
    readMetadata(req.metadata!, back);
    expect(back.get("x-a")).toBe("caf\u00e9 1, second");
    expect(back.get("x-trace-bin")).toBe("AAEC/w==");
    const bare = parseRequest(encodeRequest(1, undefined, new Headers(), message));
    expect(bare.timeoutMs).toBeUndefined();
    expect(bare.metadata).toBeUndefined();
    expect(encodeRequest(1, undefined, undefined, message).length).toBe(3 + message.length);
  });

  it("carries response metadata beside a message, and refuses truncated or foreign envelopes", () => {
    const ok = parseReply(encodeReply(300, new Headers({ "x-h": "v" }), undefined, new Uint8Array([9])));
    expect(ok.callId).toBe(300);
    expect(ok.error).toBeUndefined();
    expect([...ok.body]).toEqual([9]);
    const header = new Headers();
    readMetadata(ok.header!, header);
    const names: string[] = [];
    header.forEach((_value, name) => void names.push(name));
    expect(names).toEqual(["x-h"]);
    expect(header.get("x-h")).toBe("v");
    expect(ok.trailer).toBeUndefined();
    const whole = encodeErrorReply(1, undefined, new Headers({ "x-t": "v" }), new ConnectError("m", Code.NotFound));
    for (let n = 0; n < whole.length; n++) expect(() => parseReply(whole.subarray(0, n))).toThrow(WireError);
    expect(() => parseReply(new Uint8Array([2, 0, 1]))).toThrow(/version/);
    expect(() => parseRequest(new Uint8Array([1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(WireError);
  });
});
