// The conformance runner's framing on stdin/stdout: a 4-byte big-endian length, then the message.

import type { Readable, Writable } from "node:stream";

/** Yields every size-delimited message on `input` until it ends; a torn message at the end throws. */
export async function* readSizeDelimited(input: Readable): AsyncGenerator<Uint8Array> {
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of input as AsyncIterable<Buffer>) {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 4) {
      const size = buf.readUInt32BE(0);
      if (buf.length < 4 + size) break;
      yield buf.subarray(4, 4 + size);
      buf = buf.subarray(4 + size);
    }
  }
  if (buf.length > 0) throw new Error(`stdin ended inside a message (${buf.length} bytes left)`);
}

/** Writes one size-delimited message (one write, so concurrent results never interleave). */
export function writeSizeDelimited(output: Writable, message: Uint8Array): void {
  const out = Buffer.alloc(4 + message.length);
  out.writeUInt32BE(message.length, 0);
  out.set(message, 4);
  output.write(out);
}
