// Flow control and cancellation of server streams over NATS, caller to server: NATS core has no
// back-pressure, so the caller grants credit and cancels. Format and subject: docs/protocol.md.

import { Buffer } from "node:buffer";
import { ENVELOPE_VERSION } from "./envelope.ts";
import { stringSize, varintSize, WireError, WireReader, writeString, writeVarint } from "./wire.ts";

/** The last subject token of control messages. */
export const CONTROL_TOKEN = "$ctl";

const CREDIT = 1;
const CANCEL = 2;

/** A control message as read by the server. */
export type StreamControl =
  | { readonly kind: "credit"; readonly callId: number; readonly stream: string; readonly messages: number }
  | { readonly kind: "cancel"; readonly callId: number; readonly stream: string };

/** Grants `messages` more messages (0: cancels) to the stream of `callId` answering on `stream`. */
export function encodeControl(callId: number, stream: string, messages: number): Uint8Array {
  const credit = messages > 0;
  const b = Buffer.allocUnsafe(2 + varintSize(callId) + stringSize(stream) + (credit ? varintSize(messages) : 0));
  b[0] = ENVELOPE_VERSION;
  b[1] = credit ? CREDIT : CANCEL;
  const p = writeString(b, writeVarint(b, 2, callId), stream);
  if (credit) writeVarint(b, p, messages);
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
  throw new WireError(`unknown control message ${kind}`);
}
