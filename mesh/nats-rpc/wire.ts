// Byte-level pieces of the Connect-over-NATS envelope (see envelope.ts): unsigned varints,
// length-prefixed strings and metadata blocks. Writers write into a buffer sized beforehand; the
// reader throws WireError on anything truncated or out of range, never reads past its bytes.

import { Buffer } from "node:buffer";

/** A malformed envelope. */
export class WireError extends Error {
  override readonly name = "WireError";
}

/** Bytes of an unsigned varint of at most 32 bits. */
export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Writes an unsigned varint of at most 32 bits; returns the next position. */
export function writeVarint(b: Uint8Array, p: number, v: number): number {
  while (v > 0x7f) {
    b[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[p++] = v;
  return p;
}

/** Metadata as encoded: its pairs, in order. */
export type MetadataPairs = readonly (readonly [string, string])[];

/** The pairs of some headers (undefined when there are none), and their encoded size. */
export function metadataPairs(from: Headers | undefined, prefixPairs?: MetadataPairs): { pairs: MetadataPairs; size: number } | undefined {
  const pairs: (readonly [string, string])[] = prefixPairs === undefined ? [] : [...prefixPairs];
  from?.forEach((value, key) => pairs.push([key, value]));
  if (pairs.length === 0) return undefined;
  let size = varintSize(pairs.length);
  for (const [k, v] of pairs) {
    const kl = Buffer.byteLength(k, "utf8");
    const vl = Buffer.byteLength(v, "utf8");
    size += varintSize(kl) + kl + varintSize(vl) + vl;
  }
  return { pairs, size };
}

/** Writes a metadata block (count, then key and value strings). */
export function writeMetadata(b: Buffer, p: number, pairs: MetadataPairs): number {
  p = writeVarint(b, p, pairs.length);
  for (const [k, v] of pairs) {
    p = writeString(b, p, k);
    p = writeString(b, p, v);
  }
  return p;
}

/** Bytes of a length-prefixed UTF-8 string. */
export function stringSize(s: string): number {
  const n = Buffer.byteLength(s, "utf8");
  return varintSize(n) + n;
}

/** Writes a length-prefixed UTF-8 string. */
export function writeString(b: Buffer, p: number, s: string): number {
  const n = Buffer.byteLength(s, "utf8");
  p = writeVarint(b, p, n);
  return p + b.write(s, p, n, "utf8");
}

/** Writes length-prefixed bytes. */
export function writeBytes(b: Uint8Array, p: number, bytes: Uint8Array): number {
  p = writeVarint(b, p, bytes.length);
  b.set(bytes, p);
  return p + bytes.length;
}

/** Reads an envelope front to back. */
export class WireReader {
  readonly bytes: Uint8Array;
  pos: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.#end = end;
  }

  /** True when every byte was read. */
  get done(): boolean {
    return this.pos >= this.#end;
  }

  byte(): number {
    if (this.pos >= this.#end) throw new WireError("truncated envelope");
    return this.bytes[this.pos++];
  }

  /** An unsigned varint of at most 32 bits. */
  varint(): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        if (v > 0xffffffff) break;
        return v;
      }
    }
    throw new WireError("varint out of range");
  }

  /** A length, checked against the bytes left. */
  length(): number {
    const n = this.varint();
    if (n > this.#end - this.pos) throw new WireError("length beyond the envelope");
    return n;
  }

  string(): string {
    const n = this.length();
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, n).toString("utf8");
    this.pos += n;
    return s;
  }

  /** Length-prefixed bytes, as a view (no copy). */
  bytesField(): Uint8Array {
    const n = this.length();
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Skips a metadata block and returns its bytes (decoded later by readMetadata, if at all). */
  metadataBlock(): Uint8Array {
    const start = this.pos;
    const count = this.varint();
    for (let i = 0; i < count; i++) {
      // Not `pos += length()`: that would add to pos as it was before the length was read.
      const keyLength = this.length();
      this.pos += keyLength;
      const valueLength = this.length();
      this.pos += valueLength;
    }
    return this.bytes.subarray(start, this.pos);
  }
}

/**
 * Appends a metadata block's pairs to `into` (a block already checked by WireReader.metadataBlock).
 * Pairs that are not valid HTTP header names or values are dropped, as an HTTP server would refuse them.
 */
export function readMetadata(block: Uint8Array, into: Headers): void {
  const r = new WireReader(block);
  const count = r.varint();
  for (let i = 0; i < count; i++) {
    const key = r.string();
    const value = r.string();
    try {
      into.append(key, value);
    } catch {
      // not a valid header: dropped
    }
  }
}
