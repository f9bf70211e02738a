// Connect over NATS envelope, shared by the client transport and the server: a few bytes in the payload
// instead of NATS headers, which cost more to build and read. Format: docs/protocol.md.

import { Buffer } from "node:buffer";
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  metadataPairs,
  readMetadata,
  stringSize,
  varintSize,
  WireError,
  WireReader,
  writeBytes,
  writeMetadata,
  writeString,
  writeVarint,
  type MetadataPairs,
} from "./wire.ts";

/** The envelope version this code reads and writes. */
export const ENVELOPE_VERSION = 1;

const REQUEST_DEADLINE = 1;
const REQUEST_METADATA = 2;
const REQUEST_STREAM = 4;
const REQUEST_CLIENT_STREAM = 8;
const REPLY_ERROR = 1;
const REPLY_HEADER = 2;
const REPLY_TRAILER = 4;
const REPLY_STREAM_MESSAGE = 8;
const REPLY_CREDIT = 16;

/** Call ids are varints of at most 4 bytes; they wrap. */
export const CALL_ID_MASK = 0x0fffffff;

/** A request as read by the server. */
export interface RequestEnvelope {
  readonly callId: number;
  /** The caller's remaining deadline in milliseconds, undefined without one. */
  readonly timeoutMs: number | undefined;
  /** The request metadata block, decoded by readMetadata when a handler reads the headers. */
  readonly metadata: Uint8Array | undefined;
  /** For a streaming call: messages the server may send before the caller grants more. */
  readonly window: number | undefined;
  /** A client- or bidi-streaming call: the caller sends its messages as control messages (no body). */
  readonly clientStream: boolean;
  /** The request message. */
  readonly body: Uint8Array;
}

/** Reads the common head of both envelopes: version (checked), flags and call id. */
class EnvelopeReader extends WireReader {
  readonly flags: number;
  readonly callId: number;
  constructor(data: Uint8Array) {
    super(data);
    const version = this.byte();
    if (version !== ENVELOPE_VERSION) throw new WireError(`unsupported envelope version ${version}`);
    this.flags = this.byte();
    this.callId = this.varint();
  }
}

/**
 * Encodes a request envelope followed by the message; `window` marks a streaming call, and
 * `clientStream` one whose messages follow as control messages (`message` is then empty).
 */
export function encodeRequest(callId: number, timeoutMs: number | undefined, header: Headers | undefined, message: Uint8Array, window?: number, clientStream = false): Uint8Array {
  const meta = header === undefined ? undefined : metadataPairs(header);
  let flags = clientStream ? REQUEST_CLIENT_STREAM : 0;
  let size = 2 + varintSize(callId) + message.length;
  if (window !== undefined) {
    flags |= REQUEST_STREAM;
    size += varintSize(window);
  }
  if (timeoutMs !== undefined) {
    flags |= REQUEST_DEADLINE;
    size += varintSize(timeoutMs);
  }
  if (meta !== undefined) {
    flags |= REQUEST_METADATA;
    size += meta.size;
  }
  const b = Buffer.allocUnsafe(size);
  b[0] = ENVELOPE_VERSION;
  b[1] = flags;
  let p = writeVarint(b, 2, callId);
  if (timeoutMs !== undefined) p = writeVarint(b, p, timeoutMs);
  if (meta !== undefined) p = writeMetadata(b, p, meta.pairs);
  if (window !== undefined) p = writeVarint(b, p, window);
  b.set(message, p);
  return b;
}

/** Reads a request envelope; throws WireError when it is malformed or of another version. */
export function parseRequest(data: Uint8Array): RequestEnvelope {
  const r = new EnvelopeReader(data);
  const { flags, callId } = r;
  const timeoutMs = flags & REQUEST_DEADLINE ? r.varint() : undefined;
  const metadata = flags & REQUEST_METADATA ? r.metadataBlock() : undefined;
  const window = flags & REQUEST_STREAM ? r.varint() : undefined;
  const clientStream = (flags & REQUEST_CLIENT_STREAM) !== 0;
  if (clientStream && window === undefined) throw new WireError("a client stream without a window");
  return { callId, timeoutMs, metadata, window, clientStream, body: data.subarray(r.pos) };
}

/**
 * Encodes a successful reply: envelope (with response metadata, if any) followed by the message. With
 * `seq`, a message of a server stream; the end of a stream is a reply without seq and message.
 */
export function encodeReply(callId: number, header: Headers | undefined, trailer: Headers | undefined, message: Uint8Array, seq?: number): Uint8Array {
  const h = header === undefined ? undefined : metadataPairs(header);
  const t = trailer === undefined ? undefined : metadataPairs(trailer);
  const b = Buffer.allocUnsafe(replyHeadSize(callId, h, t) + (seq === undefined ? 0 : varintSize(seq)) + message.length);
  const p = writeReplyHead(b, callId, 0, h, t, seq);
  b.set(message, p);
  return b;
}

/** Encodes a credit reply: the caller of a client or bidi stream may send `messages` more. */
export function encodeCreditReply(callId: number, messages: number): Uint8Array {
  const b = Buffer.allocUnsafe(2 + varintSize(callId) + varintSize(messages));
  b[0] = ENVELOPE_VERSION;
  b[1] = REPLY_CREDIT;
  writeVarint(b, writeVarint(b, 2, callId), messages);
  return b;
}

/** Encodes an error reply: code, message and details; the error's own metadata joins the trailers. */
export function encodeErrorReply(callId: number, header: Headers | undefined, trailer: Headers | undefined, err: ConnectError): Uint8Array {
  const h = header === undefined ? undefined : metadataPairs(header);
  const errorMeta: [string, string][] = [];
  err.metadata.forEach((v, k) => errorMeta.push([k, v]));
  const t = metadataPairs(trailer, errorMeta);
  const details = err.details.map((d) => ("desc" in d ? { type: d.desc.typeName, value: toBinaryDetail(d) } : { type: d.type, value: d.value }));
  let size = replyHeadSize(callId, h, t) + varintSize(err.code) + stringSize(err.rawMessage) + varintSize(details.length);
  for (const d of details) size += stringSize(d.type) + varintSize(d.value.length) + d.value.length;
  const b = Buffer.allocUnsafe(size);
  let p = writeReplyHead(b, callId, REPLY_ERROR, h, t);
  p = writeVarint(b, p, err.code);
  p = writeString(b, p, err.rawMessage);
  p = writeVarint(b, p, details.length);
  for (const d of details) {
    p = writeString(b, p, d.type);
    p = writeBytes(b, p, d.value);
  }
  return b;
}

type Meta = { pairs: MetadataPairs; size: number } | undefined;

function replyHeadSize(callId: number, h: Meta, t: Meta): number {
  return 2 + varintSize(callId) + (h?.size ?? 0) + (t?.size ?? 0);
}

function writeReplyHead(b: Buffer, callId: number, flags: number, h: Meta, t: Meta, seq?: number): number {
  b[0] = ENVELOPE_VERSION;
  b[1] = flags | (h === undefined ? 0 : REPLY_HEADER) | (t === undefined ? 0 : REPLY_TRAILER) | (seq === undefined ? 0 : REPLY_STREAM_MESSAGE);
  let p = writeVarint(b, 2, callId);
  if (seq !== undefined) p = writeVarint(b, p, seq);
  if (h !== undefined) p = writeMetadata(b, p, h.pairs);
  if (t !== undefined) p = writeMetadata(b, p, t.pairs);
  return p;
}

/** A reply as read by the client. */
export interface ReplyEnvelope {
  readonly callId: number;
  /** The position of a server stream's message (0, 1, ...); undefined for a unary reply or a stream's end. */
  readonly seq: number | undefined;
  /** A credit reply: the caller of a client or bidi stream may send this many more messages. */
  readonly credit: number | undefined;
  /** Response header metadata block, if any. */
  readonly header: Uint8Array | undefined;
  /** Response trailer metadata block, if any. */
  readonly trailer: Uint8Array | undefined;
  /** The error the call ended with (metadata = headers and trailers), or undefined on success. */
  readonly error: ConnectError | undefined;
  /** The response message (success only). */
  readonly body: Uint8Array;
}

/** Reads a reply envelope; throws WireError when it is malformed or of another version. */
export function parseReply(data: Uint8Array): ReplyEnvelope {
  const r = new EnvelopeReader(data);
  const { flags, callId } = r;
  const seq = flags & REPLY_STREAM_MESSAGE ? r.varint() : undefined;
  const credit = flags & REPLY_CREDIT ? r.varint() : undefined;
  const header = flags & REPLY_HEADER ? r.metadataBlock() : undefined;
  const trailer = flags & REPLY_TRAILER ? r.metadataBlock() : undefined;
  if ((flags & REPLY_ERROR) === 0) return { callId, seq, credit, header, trailer, error: undefined, body: data.subarray(r.pos) };
  const rawCode = r.varint();
  const code = rawCode >= 1 && rawCode <= 16 ? (rawCode as Code) : Code.Unknown;
  const message = r.string();
  const metadata = new Headers();
  if (header !== undefined) readMetadata(header, metadata);
  if (trailer !== undefined) readMetadata(trailer, metadata);
  const error = new ConnectError(message, code, metadata);
  const count = r.varint();
  for (let i = 0; i < count; i++) {
    const type = r.string();
    // A copy: the detail outlives the message buffer it came in.
    error.details.push({ type, value: r.bytesField().slice() });
  }
  return { callId, seq, credit, header, trailer, error, body: data.subarray(r.pos) };
}

/** Decodes metadata blocks into Connect response headers and trailers. */
export function metadataOf(header: Uint8Array | undefined, trailer: Uint8Array | undefined): { header: Headers; trailer: Headers } {
  const h = new Headers();
  const t = new Headers();
  if (header !== undefined) readMetadata(header, h);
  if (trailer !== undefined) readMetadata(trailer, t);
  return { header: h, trailer: t };
}

// An outgoing detail given as {desc, value} (a message init): serialised as Connect does.
function toBinaryDetail(d: { desc: DescMessage; value: MessageInitShape<DescMessage> }): Uint8Array {
  return toBinary(d.desc, create(d.desc, d.value));
}
