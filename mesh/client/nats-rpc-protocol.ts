// Connect over NATS request/reply: the wire conventions shared by the client transport and the server.
//
// Request:  subject  <instance natsSubject>.<package.Service>.<Method>
//           payload  the request message, binary Protobuf
//           headers  (only when needed) weft-timeout-ms: remaining deadline in ms; every request header
//                    of the caller as is
// Response: payload  the response message, binary Protobuf (empty on error)
//           headers  (only when needed) weft-code: numeric Connect code when the call failed;
//                    weft-message: the error message; weft-details: JSON [{type, value: base64}];
//                    response headers as is, response trailers prefixed "weft-trailer-".
// A NATS "no responders" status (503) means no handler received the request.

import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { MsgHdrs } from "@nats-io/transport-node";
import { headers as natsHeaders } from "@nats-io/transport-node";

export const TIMEOUT_HEADER = "weft-timeout-ms";
export const CODE_HEADER = "weft-code";
export const MESSAGE_HEADER = "weft-message";
export const DETAILS_HEADER = "weft-details";
export const TRAILER_PREFIX = "weft-trailer-";

/** Headers that belong to the protocol and are never copied into metadata. */
const RESERVED = new Set([TIMEOUT_HEADER, CODE_HEADER, MESSAGE_HEADER, DETAILS_HEADER]);

/** Copies Fetch-style headers into NATS headers (creating them on first use). */
export function copyToNats(from: Headers, to: MsgHdrs | undefined, prefix = ""): MsgHdrs | undefined {
  from.forEach((value, key) => {
    if (RESERVED.has(key)) return;
    to ??= natsHeaders();
    to.append(prefix + key, value);
  });
  return to;
}

/** Splits NATS response headers into Connect response headers and trailers (protocol keys dropped). */
export function metadataFromNats(from: MsgHdrs | undefined): { header: Headers; trailer: Headers } {
  const header = new Headers();
  const trailer = new Headers();
  if (from === undefined) return { header, trailer };
  for (const [key, values] of from) {
    const k = key.toLowerCase();
    if (RESERVED.has(k)) continue;
    for (const v of values) {
      if (k.startsWith(TRAILER_PREFIX)) trailer.append(k.slice(TRAILER_PREFIX.length), v);
      else header.append(k, v);
    }
  }
  return { header, trailer };
}

/** Writes an error's code, message and details into NATS headers. */
export function errorToNats(err: ConnectError, into: MsgHdrs | undefined): MsgHdrs {
  const h = into ?? natsHeaders();
  h.set(CODE_HEADER, String(err.code));
  if (err.rawMessage !== "") h.set(MESSAGE_HEADER, encodeURIComponent(err.rawMessage));
  if (err.details.length > 0) {
    const details = err.details.map((d) =>
      "desc" in d
        ? { type: d.desc.typeName, value: Buffer.from(toBinaryDetail(d)).toString("base64") }
        : { type: d.type, value: Buffer.from(d.value).toString("base64") },
    );
    h.set(DETAILS_HEADER, JSON.stringify(details));
  }
  copyToNats(err.metadata, h);
  return h;
}

/** Reads an error from NATS response headers; undefined when the response is a success. */
export function errorFromNats(h: MsgHdrs | undefined): ConnectError | undefined {
  if (h === undefined || !h.has(CODE_HEADER)) return undefined;
  const code = Number(h.get(CODE_HEADER));
  const message = h.has(MESSAGE_HEADER) ? safeDecode(h.get(MESSAGE_HEADER)) : "";
  const { header, trailer } = metadataFromNats(h);
  trailer.forEach((v, k) => header.append(k, v));
  const err = new ConnectError(message, Number.isInteger(code) && code >= 1 && code <= 16 ? (code as Code) : Code.Unknown, header);
  if (h.has(DETAILS_HEADER)) {
    try {
      const parsed = JSON.parse(h.get(DETAILS_HEADER)) as { type: string; value: string }[];
      for (const d of parsed) err.details.push({ type: d.type, value: new Uint8Array(Buffer.from(d.value, "base64")) });
    } catch {
      // Undecodable details are dropped; the code and message still reach the caller.
    }
  }
  return err;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// An outgoing detail given as {desc, value} (a message init): serialise it as Connect does.
function toBinaryDetail(d: { desc: DescMessage; value: MessageInitShape<DescMessage> }): Uint8Array {
  return toBinary(d.desc, create(d.desc, d.value));
}
