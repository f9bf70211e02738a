// The few DER (ASN.1) pieces X.509 needs, written and read by hand: Node can sign and verify
// certificates but neither build one nor expose its extensions, and a SAN read from Node's printed
// `subjectaltname` (quoted, escaped, comma-joined) cannot be trusted.

/** An ASN.1 element read from DER. */
export interface DerElement {
  /** The identifier octet (class, constructed bit and tag number; only low tag numbers are used here). */
  readonly tag: number;
  /** The content octets. */
  readonly content: Buffer;
  /** Offset just past this element in the buffer it was read from. */
  readonly end: number;
}

/** Tags used by X.509. */
export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** A malformed DER input. */
export class DerError extends Error {}

/** Reads the element at `offset` of `buf`. Throws DerError on truncated or non-DER lengths. */
export function readElement(buf: Buffer, offset = 0): DerElement {
  if (offset + 2 > buf.length) throw new DerError("truncated element");
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError("high tag numbers are not used in X.509");
  let len = buf[offset + 1];
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || pos + n > buf.length) throw new DerError("bad length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i];
    if (len < 0x80 || buf[pos] === 0) throw new DerError("length not in minimal DER form");
    pos += n;
  }
  if (pos + len > buf.length) throw new DerError("truncated content");
  return { tag, content: buf.subarray(pos, pos + len), end: pos + len };
}

/** The elements inside a constructed element's content, in order. */
export function children(content: Buffer): DerElement[] {
  const out: DerElement[] = [];
  let offset = 0;
  while (offset < content.length) {
    const e = readElement(content, offset);
    out.push(e);
    offset = e.end;
  }
  return out;
}

/** Decodes an OBJECT IDENTIFIER's content to dotted form. */
export function decodeOid(content: Buffer): string {
  if (content.length === 0) throw new DerError("empty OID");
  const parts: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift()!;
  const a = first < 80 ? Math.floor(first / 40) : 2;
  return [a, first - a * 40, ...parts].join(".");
}

function lengthOctets(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One element: tag, length and content. */
export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthOctets(content.length), content]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(Tag.sequence, Buffer.concat(items));
export const set = (...items: Buffer[]): Buffer => tlv(Tag.set, Buffer.concat(items));
export const octetString = (b: Buffer): Buffer => tlv(Tag.octetString, b);
export const bitString = (b: Buffer, unusedBits = 0): Buffer => tlv(Tag.bitString, Buffer.concat([Buffer.from([unusedBits]), b]));
export const boolean = (v: boolean): Buffer => tlv(Tag.boolean, Buffer.from([v ? 0xff : 0]));
export const utf8 = (s: string): Buffer => tlv(Tag.utf8String, Buffer.from(s, "utf8"));
/** An explicit context tag [n] around `inner` (constructed). */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);
/** An implicit context tag [n] with primitive content. */
export const implicit = (n: number, content: Buffer): Buffer => tlv(0x80 | n, content);

/** A non-negative INTEGER from big-endian magnitude bytes. */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return tlv(Tag.integer, m[0] & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
}

/** An OBJECT IDENTIFIER from dotted form. */
export function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const bytes: number[] = [];
  for (const v of [a * 40 + b, ...rest]) {
    const group: number[] = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) group.unshift((x & 0x7f) | 0x80);
    bytes.push(...group);
  }
  return tlv(Tag.oid, Buffer.from(bytes));
}

/** UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280 4.1.2.5), to the second. */
export function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  return date.getUTCFullYear() < 2050 ? tlv(Tag.utcTime, Buffer.from(iso.slice(2), "latin1")) : tlv(Tag.generalizedTime, Buffer.from(iso, "latin1"));
}
