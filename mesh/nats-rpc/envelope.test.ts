// Connect over NATS envelope: requests, replies and stream control messages round-trip every field,
// truncated or foreign bytes are refused.

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { EchoStatusSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { encodeCreditReply, encodeErrorReply, encodeReply, encodeRequest, parseReply, parseRequest } from "./envelope.ts";
import { encodeControl, encodeStreamEnd, encodeStreamMessage, parseControl } from "./stream-control.ts";
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

  it("carries the client-stream open, credit replies and the caller's messages and end of input", () => {
    const open = parseRequest(encodeRequest(5, 100, undefined, new Uint8Array(0), 32, true));
    expect(open).toMatchObject({ callId: 5, timeoutMs: 100, window: 32, clientStream: true });
    expect(open.body.length).toBe(0);
    expect(parseRequest(encodeRequest(5, undefined, undefined, new Uint8Array([1]), 8)).clientStream).toBe(false);
    // A client stream without a window is malformed (flag 8 alone).
    expect(() => parseRequest(new Uint8Array([1, 8, 5]))).toThrow(WireError);
    const credit = parseReply(encodeCreditReply(300, 16));
    expect(credit).toMatchObject({ callId: 300, credit: 16, seq: undefined, error: undefined });
    expect(credit.body.length).toBe(0);
    expect(parseReply(encodeReply(1, undefined, undefined, new Uint8Array([7]), 3)).credit).toBeUndefined();
    const inbox = "_INBOX.abc.4";
    const message = parseControl(encodeStreamMessage(9, inbox, 2, new Uint8Array([4, 5])));
    expect(message).toMatchObject({ kind: "message", callId: 9, stream: inbox, seq: 2 });
    expect([...(message as { body: Uint8Array }).body]).toEqual([4, 5]);
    expect(parseControl(encodeStreamEnd(9, inbox, 3))).toEqual({ kind: "end", callId: 9, stream: inbox, count: 3 });
    expect(parseControl(encodeControl(9, inbox, 4))).toEqual({ kind: "credit", callId: 9, stream: inbox, messages: 4 });
    expect(parseControl(encodeControl(9, inbox, 0))).toEqual({ kind: "cancel", callId: 9, stream: inbox });
    const end = encodeStreamEnd(9, inbox, 300);
    for (let n = 0; n < end.length; n++) expect(() => parseControl(end.subarray(0, n))).toThrow(WireError);
    expect(() => parseControl(new Uint8Array([1, 9, 1, 0]))).toThrow(/unknown control/);
  });
});
