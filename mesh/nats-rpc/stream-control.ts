// Control messages of streams over NATS, caller to server: NATS core has no back-pressure, so the
// caller grants credit and cancels; the messages of a client or bidi stream and the end of its input
// travel the same way. Format and subject: docs/protocol.md.

import { Buffer } from "node:buffer";
import { ENVELOPE_VERSION } from "./envelope.ts";
import { stringSize, varintSize, WireError, WireReader, writeString, writeVarint } from "./wire.ts";

/** The last subject token of control messages. */
export const CONTROL_TOKEN = "$ctl";

const CREDIT = 1;
const CANCEL = 2;
const MESSAGE = 3;
const END = 4;

/** A control message as read by the server. */
export type StreamControl =
  | { readonly kind: "credit"; readonly callId: number; readonly stream: string; readonly messages: number }
  | { readonly kind: "cancel"; readonly callId: number; readonly stream: string }
  | { readonly kind: "message"; readonly callId: number; readonly stream: string; readonly seq: number; readonly body: Uint8Array }
  | { readonly kind: "end"; readonly callId: number; readonly stream: string; readonly count: number };

// version, kind, call id and the stream's reply subject, then `extra` bytes the caller writes.
function head(kind: number, callId: number, stream: string, extra: number): { b: Buffer; p: number } {
  const b = Buffer.allocUnsafe(2 + varintSize(callId) + stringSize(stream) + extra);
  b[0] = ENVELOPE_VERSION;
  b[1] = kind;
  return { b, p: writeString(b, writeVarint(b, 2, callId), stream) };
}

/** Grants `messages` more messages (0: cancels) to the stream of `callId` answering on `stream`. */
export function encodeControl(callId: number, stream: string, messages: number): Uint8Array {
  if (messages <= 0) return head(CANCEL, callId, stream, 0).b;
  const { b, p } = head(CREDIT, callId, stream, varintSize(messages));
  writeVarint(b, p, messages);
  return b;
}

/** One message of a client or bidi stream (`seq` 0, 1, ...). */
export function encodeStreamMessage(callId: number, stream: string, seq: number, message: Uint8Array): Uint8Array {
  const { b, p } = head(MESSAGE, callId, stream, varintSize(seq) + message.length);
  b.set(message, writeVarint(b, p, seq));
  return b;
}

/** The end of a client or bidi stream's input, after `count` messages. */
export function encodeStreamEnd(callId: number, stream: string, count: number): Uint8Array {
  const { b, p } = head(END, callId, stream, varintSize(count));
  writeVarint(b, p, count);
  return b;
}

/** Reads a control message; throws WireError when it is malformed. */
export function parseControl(data: Uint8Array): StreamControl {
  const r = new WireReader(data);
  const version = r.byte();
  if (version !== ENVELOPE_VERSION) throw new WireError(`unsupported envelope version ${version}`);
  const kind = r.byte();
  const callId = r.varint();
  const stream = r.string();
  if (kind === CREDIT) return { kind: "credit", callId, stream, messages: r.varint() };
  if (kind === CANCEL) return { kind: "cancel", callId, stream };
  if (kind === MESSAGE) {
    const seq = r.varint();
    return { kind: "message", callId, stream, seq, body: data.subarray(r.pos) };
  }
  if (kind === END) return { kind: "end", callId, stream, count: r.varint() };
  throw new WireError(`unknown control message ${kind}`);
}
