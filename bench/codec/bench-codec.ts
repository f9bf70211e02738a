// Micro-benchmark of the compiled codecs against protobuf-es, both directions of both formats, for the
// UnaryCall pair of weft.testing.v1 and a catalogue page of shop.catalog.v1 (20 products with text,
// prices and tags; once with ASCII descriptions, once with a non-ASCII character in them, which sends
// both libraries' strings through the UTF-8 paths). Not a test. Run: node bench/codec/bench-codec.ts [--rounds N]
// Each row alternates protobuf-es and compiled rounds of ~40 ms and reports the median ns/op of each,
// so a busy machine slows both sides alike; the ratio is the figure to read.

import { create, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { UnaryCallRequestSchema, UnaryCallResponseSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { ListProductsResponseSchema } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { compileCodec } from "../../mesh/codec/index.ts";

const roundsArg = process.argv.indexOf("--rounds");
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 7;
const ROUND_MS = 40;

/** Iterations of `fn` that take about ROUND_MS. */
function calibrate(fn: () => unknown): number {
  let n = 1000;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (ms > 10) return Math.max(1000, Math.round((n * ROUND_MS) / ms));
    n *= 4;
  }
}

function round(fn: () => unknown, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - start) / n;
}

function median(xs: number[]): number {
  const s = xs.concat().sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Median ns/op of protobuf-es and of the compiled codec, measured in alternating rounds. */
function compare(pe: () => unknown, ours: () => unknown): [number, number] {
  const np = calibrate(pe);
  const no = calibrate(ours);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    a.push(round(pe, np));
    b.push(round(ours, no));
  }
  return [median(a), median(b)];
}

const rows: string[][] = [["message", "operation", "protobuf-es ns/op", "compiled ns/op", "speed-up"]];

function bench<D extends DescMessage>(label: string, schema: D, message: MessageShape<D>): void {
  const codec = compileCodec(schema);
  const bytes = toBinary(schema, message);
  const json = toJsonString(schema, message);
  const ops: [string, () => unknown, () => unknown][] = [
    ["fromBinary", () => fromBinary(schema, bytes), () => codec.fromBinary(bytes)],
    ["toBinary", () => toBinary(schema, message), () => codec.toBinary(message)],
    ["fromJsonString", () => fromJsonString(schema, json), () => codec.fromJsonString(json)],
    ["toJsonString", () => toJsonString(schema, message), () => codec.toJsonString(message)],
  ];
  for (const [op, pe, ours] of ops) {
    const [a, b] = compare(pe, ours);
    rows.push([label, op, a.toFixed(0), b.toFixed(0), (a / b).toFixed(2) + "x"]);
  }
}

const body = new Uint8Array(16);
const request = create(UnaryCallRequestSchema, { responseSize: 16, payload: { body } });
const response = create(UnaryCallResponseSchema, { payload: { body } });
/** A catalogue page of 20 products; the description is ASCII or has one non-ASCII character. */
function page(description: string) {
  return create(ListProductsResponseSchema, {
    products: Array.from({ length: 20 }, (_, i) => ({
      id: `prod-${1000 + i}`,
      name: `Product number ${i}`,
      description,
      category: i % 2 ? "kitchen" : "garden",
      priceCents: BigInt(999 + i * 250),
      tags: ["new", "sale", `t${i}`],
    })),
    nextPageToken: "cGFnZS0y",
    totalSize: 240,
  });
}

bench("UnaryCallRequest", UnaryCallRequestSchema, request);
bench("UnaryCallResponse", UnaryCallResponseSchema, response);
bench("ListProductsResponse (20, ASCII)", ListProductsResponseSchema, page("A sturdy, well-made thing that does what it says, in several colours - with a warranty."));
bench("ListProductsResponse (20, UTF-8)", ListProductsResponseSchema, page("A sturdy, well-made thing that does what it says, in several colours — with a warranty."));

// The brief's pairings: decode the request and encode the response (created per call) in binary,
// and decode the request from JSON.
{
  const codecReq = compileCodec(UnaryCallRequestSchema);
  const codecRes = compileCodec(UnaryCallResponseSchema);
  const bytes = toBinary(UnaryCallRequestSchema, request);
  const [a, b] = compare(
    () => toBinary(UnaryCallResponseSchema, create(UnaryCallResponseSchema, { payload: { body: fromBinary(UnaryCallRequestSchema, bytes).payload!.body } })),
    () => codecRes.toBinary(create(UnaryCallResponseSchema, { payload: { body: codecReq.fromBinary(bytes).payload!.body } })),
  );
  rows.push(["UnaryCall pair", "fromBinary(req) + create + toBinary(res)", a.toFixed(0), b.toFixed(0), (a / b).toFixed(2) + "x"]);
}

const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
console.log(`node ${process.version}, ${ROUNDS} alternating rounds of ~${ROUND_MS} ms per side, median ns/op`);
for (const [i, r] of rows.entries()) {
  console.log("| " + r.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join(" | ") + " |");
  if (i === 0) console.log("| " + widths.map((w, c) => (c >= 2 ? "-".repeat(w - 1) + ":" : "-".repeat(w))).join(" | ") + " |");
}
