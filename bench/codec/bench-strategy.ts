// Why the codecs are generated with `new Function` rather than built from specialised closures: this
// builds a closure-based binary decoder (one reader closure per field, dispatched from a generic
// message loop, the same inline varint fast paths) for the singular int32, string, bytes and message
// fields of the UnaryCall request, and times it against the generated decoder and protobuf-es.
// Not a test. Run: node bench/codec/bench-strategy.ts

import { create, fromBinary, ScalarType, toBinary } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import { UnaryCallRequestSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { compileCodec, createReadState, readString, readVarint32, skipField } from "../../mesh/codec/index.ts";

type FieldReader = (m: Record<string, unknown>, b: Uint8Array, p: number, depth: number) => number;
interface ClosureCodec {
  readonly create: () => Record<string, unknown>;
  readonly read: (m: Record<string, unknown>, b: Uint8Array, p: number, end: number, depth: number) => number;
}

const st = createReadState();

function varint(b: Uint8Array, p: number): number {
  const v = b[p];
  if (p < b.length && v < 128) {
    st.p = p + 1;
    return v;
  }
  return readVarint32(b, p, st);
}

/** A closure decoder for messages of singular int32, string, bytes and message fields only. */
function closureCodec(desc: DescMessage, cache = new Map<DescMessage, ClosureCodec>()): ClosureCodec {
  const known = cache.get(desc);
  if (known !== undefined) return known;
  const readers = new Map<number, FieldReader>();
  const sample = create(desc) as unknown as Record<string, unknown>;
  const codec: ClosureCodec = {
    create: () => ({ ...sample }),
    read(m, b, p, end, depth) {
      while (p < end) {
        const t = varint(b, p);
        p = st.p;
        const reader = readers.get(t >>> 3);
        if (reader === undefined) p = skipField(b, p, t & 7, t >>> 3, 100 - depth, st);
        else p = reader(m, b, p, depth);
      }
      return p;
    },
  };
  cache.set(desc, codec);
  for (const field of desc.fields) {
    const name = field.localName;
    if (field.fieldKind === "message") {
      const child = closureCodec(field.message, cache);
      readers.set(field.number, (m, b, p, depth) => {
        const len = varint(b, p);
        const c = (m[name] as Record<string, unknown> | undefined) ?? child.create();
        p = child.read(c, b, st.p, st.p + len, depth + 1);
        m[name] = c;
        return p;
      });
    } else if (field.fieldKind === "scalar" && field.scalar === ScalarType.INT32) {
      readers.set(field.number, (m, b, p) => {
        m[name] = varint(b, p) | 0;
        return st.p;
      });
    } else if (field.fieldKind === "scalar" && (field.scalar === ScalarType.STRING || field.scalar === ScalarType.BYTES)) {
      const text = field.scalar === ScalarType.STRING;
      readers.set(field.number, (m, b, p) => {
        const len = varint(b, p);
        const start = st.p;
        if (start + len > b.length) throw new RangeError("premature EOF");
        m[name] = text ? readString(b, start, start + len, true) : b.subarray(start, start + len);
        return start + len;
      });
    } else {
      throw new Error(`closure strategy does not cover ${String(field)}`);
    }
  }
  return codec;
}

function time(fn: () => unknown): number {
  for (let i = 0; i < 300_000; i++) fn();
  const n = 2_000_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - start) / n;
}

const bytes = toBinary(UnaryCallRequestSchema, create(UnaryCallRequestSchema, { responseSize: 16, payload: { body: new Uint8Array(16) }, responseStatus: { code: 3, message: "try again" } }));
const closures = closureCodec(UnaryCallRequestSchema);
const generated = compileCodec(UnaryCallRequestSchema);
const decodeWithClosures = () => {
  const m = closures.create();
  closures.read(m, bytes, 0, bytes.length, 1);
  return m;
};
console.log(`fromBinary(UnaryCallRequest), ns/op, node ${process.version}`);
for (let round = 0; round < 2; round++) {
  console.log(
    `  protobuf-es ${time(() => fromBinary(UnaryCallRequestSchema, bytes)).toFixed(0)}`,
    `  closures ${time(decodeWithClosures).toFixed(0)}`,
    `  generated ${time(() => generated.fromBinary(bytes)).toFixed(0)}`,
  );
}
