// Hand-written inputs at the edges of the wire and JSON formats, each with the outcome protobuf-es
// gives (so this cannot pass vacuously), checked against protobuf-es by the differential check:
// truncations, bad tags and wire types, lengths past the end, overlong varints, groups, invalid UTF-8,
// recursion limits, closed enums, map entries, merging, lenient overruns; and for JSON duplicate,
// escaped and unknown keys, oneof rules, number and base64 spellings, null, lone surrogates.

import { describe, expect, it } from "vitest";
import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import { compileCodec } from "./index.ts";
import { coverageFiles } from "../../test/support/codec/coverage-files.ts";
import { reachableMessages } from "../../test/support/codec/gen-schemas.ts";
import { checkBinaryDecode, checkJsonDecode } from "../../test/support/codec/differential.ts";

const schemas = new Map(reachableMessages(coverageFiles()).map((s) => [s.typeName.split(".").pop()!, s]));
const schema = (name: string): DescMessage => schemas.get(name)!;

/** [message, hex, protobuf-es accepts it] */
const BINARY: [string, string, boolean][] = [
  ["Scalars", "", true],
  ["Scalars", "28", false], // tag, no value
  ["Scalars", "2880", false], // truncated varint
  ["Scalars", "28ffffffffffffffffff01", true], // ten-byte int32 -1
  ["Scalars", "28ffffffffffffffffffff01", false], // eleven bytes: invalid varint
  ["Scalars", "0901020304", false], // double cut short
  ["Scalars", "15010203", false], // float cut short
  ["Scalars", "3d01020304", true], // fixed32
  ["Scalars", "4a05616263", false], // string length past the end
  ["Scalars", "5205", false], // bytes length past the end
  ["Scalars", "52ffffffff0f00", false], // 4 GiB length
  ["Scalars", "0001", false], // field number 0
  ["Scalars", "0e", false], // wire type 6
  ["Scalars", "0f", false], // wire type 7
  ["Scalars", "2c05", true], // known field read whatever the wire type (EndGroup here)
  ["Scalars", "2d05000000", false], // int32 read as varint, then a zero tag
  ["Scalars", "8880808010", false], // tag overflows uint32
  ["Scalars", "888080800f01", true], // five-byte tag of a huge unknown field
  ["Scalars", "88808080800001", false], // six-byte tag
  ["Scalars", "4a02c328", false], // invalid UTF-8 in a proto3 string
  ["Scalars", "4a03efbbbf", true], // a BOM is text
  ["Scalars", "4a1e" + "61".repeat(28) + "c328", false], // invalid UTF-8 past the ASCII fast path
  ["Scalars", "4a02c3a9", true],
  ["Scalars", "40ffffffffffffffff7f", true], // bool from a long varint
  ["Scalars", "180a18ffffffffffffffffff01", true], // int64 twice: last wins
  ["Scalars", "930308019403", true], // unknown group
  ["Scalars", "930308019c03", false], // group closed by another field's end tag
  ["Scalars", "93030801", false], // group never closed
  ["Scalars", "9403", false], // end group without start
  ["Scalars", "f80180", false], // unknown varint cut short
  ["Scalars", "f901010203", false], // unknown 64-bit cut short
  ["Proto2", "aa0102c328", true], // proto2 strings are not validated: U+FFFD
  ["Proto2", "aa011e" + "62".repeat(28) + "c328", true],
  ["Proto2", "f00163", true], // closed enum, unknown value: an unknown field
  ["Proto2", "f001feffffffffffffffff01", true], // -2, not declared
  ["Proto2", "f001ffffffffffffffffff01", true], // -1, declared
  ["Proto2", "f00163900301", true], // ...and another unknown field: protobuf-es keeps only the latter
  ["Proto2", "900301f00163", true],
  ["Proto2", "880263", true], // closed enum in a oneof
  ["Proto2", "8002638202020163", true], // repeated closed enum, unpacked and packed: kept as is
  ["Proto2", "c202040801 1063".replace(/ /g, ""), true], // closed enum map value: kept as is
  ["Proto2", "a2020418051805", true], // packed sint32
  ["Ed", "1a02c328", true], // utf8_validation NONE
  ["Ed", "5a02c328", false],
  ["Ed", "2863", true], // closed enum (editions feature)
  ["Repeats", "2a030102032804", true], // packed and unpacked mixed
  ["Repeats", "2a0201", false], // packed run cut short
  ["Repeats", "2a018001", true], // packed element overruns its run: protobuf-es reads on
  ["Repeats", "4a0261624a00", true], // repeated strings
  ["Recursive", "0a0118051803", true], // child overruns its length: protobuf-es reads on
  ["Recursive", "0a0218050a0412021807", true], // singular message twice: merged
  ["Recursive", "0a0a", false],
  ["Oneofs", "2a0228052a024a00", true], // oneof message twice: merged
  ["Oneofs", "2a02280508012a024a00", true], // switch case and back: fresh
  ["Maps", "0a06080112026869", true],
  ["Maps", "0a0412026869", true], // no key
  ["Maps", "0a020801", true], // no value
  ["Maps", "0a00", true],
  ["Maps", "0a06120268690801", true], // value first
  ["Maps", "0a080801120268691801", true], // unknown field in an entry
  ["Maps", "0a0608011202686a0a06080112026869", true], // same key twice: last wins
  ["Maps", "0a100801", false], // entry past the end
  ["Maps", "a2010d0a016112021805120412021807", true], // message value twice in one entry: merged
  ["Maps", "62140a095f5f70726f746f5f5f110100000000000000", true], // key "__proto__"
  ["Maps", "5a02080a", true], // bool key from a varint 10
];

/** True if `decode` returns, false if it throws. */
function accepts(decode: () => unknown): boolean {
  try {
    decode();
    return true;
  } catch {
    return false;
  }
}

function varint(n: number): string {
  let hex = "";
  while (n > 0x7f) {
    hex += ((n & 0x7f) | 0x80).toString(16).padStart(2, "0");
    n >>>= 7;
  }
  return hex + n.toString(16).padStart(2, "0");
}

/** `depth` messages nested in field `tag` of each other. */
function nested(depth: number, tag: string): string {
  let hex = "";
  for (let i = 0; i < depth; i++) hex = tag + varint(hex.length / 2) + hex;
  return hex;
}

function groups(depth: number): string {
  return "9303".repeat(depth) + "9403".repeat(depth);
}

describe("binary edge cases", () => {
  it.each(BINARY)("%s %s (protobuf-es accepts: %s)", (name, hex, expected) => {
    const bytes = new Uint8Array(Buffer.from(hex, "hex"));
    expect(accepts(() => fromBinary(schema(name), bytes))).toBe(expected);
    expect(checkBinaryDecode(schema(name), compileCodec(schema(name)), bytes)).toBeUndefined();
  });

  it("limits message nesting to 100, as protobuf-es (99 nested children plus the root)", () => {
    const recursive = schema("Recursive");
    const codec = compileCodec(recursive);
    const ok = new Uint8Array(Buffer.from(nested(99, "0a"), "hex"));
    const deep = new Uint8Array(Buffer.from(nested(100, "0a"), "hex"));
    expect(() => codec.fromBinary(ok)).not.toThrow();
    expect(() => codec.fromBinary(deep)).toThrow(/recursion depth/);
    expect(checkBinaryDecode(recursive, codec, ok)).toBeUndefined();
    expect(checkBinaryDecode(recursive, codec, deep)).toBeUndefined();
  });

  it("limits nested unknown groups by the remaining depth, as protobuf-es", () => {
    const scalars = schema("Scalars");
    const codec = compileCodec(scalars);
    for (const depth of [98, 99, 100]) {
      expect(checkBinaryDecode(scalars, codec, new Uint8Array(Buffer.from(groups(depth), "hex")))).toBeUndefined();
    }
    expect(() => codec.fromBinary(new Uint8Array(Buffer.from(groups(100), "hex")))).toThrow();
  });
});

/** [message, JSON text, protobuf-es accepts it] */
const JSON_CASES: [string, string, boolean][] = [
  ["Scalars", "{}", true],
  ["Scalars", "", false],
  ["Scalars", "[]", false],
  ["Scalars", "null", false],
  ["Scalars", '{"fInt32":1,"fInt32":2}', false], // duplicate key
  ["Scalars", '{"fInt32":1,"\\u0066Int32":2}', false], // duplicate through an escape
  ["Scalars", '{"fInt32":1,"f_int32":2}', false], // one field by both names
  ["Scalars", '{"f_int32":"12","fString":"a\\"b\\\\"}', true],
  ["Scalars", '{"fInt32":" 1"}', false],
  ["Scalars", '{"fInt32":"1e2","fUint32":"0x10","fSint32":1.0,"fSfixed32":"-0"}', true],
  ["Scalars", '{"fInt32":1.5}', false],
  ["Scalars", '{"fInt32":2147483648}', false],
  ["Scalars", '{"fUint32":-1}', false],
  ["Scalars", '{"fInt64":"9223372036854775807","fUint64":18446744073709551615}', false],
  ["Scalars", '{"fInt64":"9223372036854775807","fUint64":"18446744073709551615","fSint64":-5}', true],
  ["Scalars", '{"fInt64":"9223372036854775808"}', false],
  ["Scalars", '{"fInt64":" 12"}', true],
  ["Scalars", '{"fInt64":""}', false],
  ["Scalars", '{"fDouble":"NaN","fFloat":"-Infinity"}', true],
  ["Scalars", '{"fFloat":3.5e38}', false],
  ["Scalars", '{"fFloat":"1e39"}', false],
  ["Scalars", '{"fDouble":"1e400"}', false],
  ["Scalars", '{"fDouble":" 1"}', false],
  ["Scalars", '{"fBool":"true"}', false],
  ["Scalars", '{"fString":"\\ud800"}', false], // lone surrogate
  ["Scalars", '{"fBytes":"-_8"}', true], // URL-safe, unpadded
  ["Scalars", '{"fBytes":"AQID\\nBA=="}', true], // whitespace inside
  ["Scalars", '{"fBytes":"AQ==AQ=="}', true], // inner padding
  ["Scalars", '{"fBytes":"A"}', false],
  ["Scalars", '{"fBytes":"AQ*D"}', false],
  ["Scalars", '{"color":"COLOR_ALIAS"}', true],
  ["Scalars", '{"color":7}', true], // open enum: any int32
  ["Scalars", '{"color":"BLUE"}', false],
  ["Scalars", '{"color":1.5}', false],
  ["Scalars", '{"fInt32":null,"fString":null,"color":null}', true],
  ["Scalars", '{"unknown":1}', false],
  ["Scalars", '{"fInt32":1,"x":{"a":1,"a":2}}', false],
  ["Optionals", '{"fInt32":0,"fString":"","color":"COLOR_UNSPECIFIED"}', true], // explicit zero values are set
  ["Optionals", '{"fInt32":null}', true],
  ["Oneofs", '{"oInt32":1,"oString":"a"}', false],
  ["Oneofs", '{"oInt32":null,"oString":"a"}', true], // null oneof scalar: skipped entirely
  ["Oneofs", '{"oColor":null,"oString":"a"}', false], // but an enum member counts
  ["Oneofs", '{"oScalars":null,"oString":"a"}', false],
  ["Oneofs", '{"oScalars":{"fInt32":3},"oText":"x"}', true], // two groups
  ["Oneofs", '{"oInt64":"-12"}', true],
  ["Oneofs", '{"oWrapped":5,"oRecursive":{"child":{}}}', true],
  ["Oneofs", '{"oWrapped":null}', true],
  ["Maps", '{"mInt32":{"1":"a","01":"b"}}', false], // keys 1 and 01 collide
  ["Maps", '{"mInt64":{"007":3,"7":4}}', false],
  ["Maps", '{"mInt64":{"007":3}}', true],
  ["Maps", '{"mBool":{"true":1,"false":-1}}', true],
  ["Maps", '{"mBool":{"yes":1}}', false],
  ["Maps", '{"mString":{"__proto__":"7"}}', true],
  ["Maps", '{"mString":{"a":null}}', false],
  ["Maps", '{"mUint64":{"5":"COLOR_RED","6":"NOPE"}}', false],
  ["Maps", '{"mInt32":{"1.5":"a"}}', false],
  ["Maps", '{"mInt32":[]}', false],
  ["Maps", '{"byName":{"a":{"value":1,"children":[{}]}}}', true],
  ["Repeats", '{"fInt32":[1,"2",null]}', false],
  ["Repeats", '{"fInt32":null,"colors":["COLOR_RED",2]}', true],
  ["Repeats", '{"fInt32":{}}', false],
  ["Longs", '{"sInt64":"0x10","rUint64":["1",2],"oFixed64":"-0"}', true], // BigInt() spellings, kept as given
  ["Longs", '{"sInt64":"-0","rUint64":["1",2],"nInt64":5}', true],
  ["Wkts", '{"ts":"2024-01-02T03:04:05.123Z","dur":"-1.5s","mask":"a,fooBar","stamps":["1970-01-01T00:00:00Z"],"flags":[true,false],"big":"18446744073709551615"}', true],
  ["Wkts", '{"ts":"yesterday"}', false],
  ["Wkts", '{"flags":[null]}', false],
  ["Proto2", '{"e":"CLOSED_A","eList":["CLOSED_B",-1]}', true],
  ["Proto2", '{"e":7}', false], // closed enum: only declared values
  ["Proto2", '{"eOneof":"CLOSED_A","sOneof":null}', true],
  ["Proto2", '{"dString":null,"pInt32":null}', true],
  ["Ed", '{"closed":5,"implicitInt":0}', true],
  ["Ed", '{"closed":4}', false],
  ["IntJsonName", '{"b":"x","123":5,"7":1}', true],
  ["IntJsonName", '{"a":5,"123":6}', false],
  ["Collide", '{"x":1,"b":2}', true], // "x" ends up naming field x, "a" naming field y
  ["Collide", '{"a":"s","y":"t"}', false],
];

describe("JSON edge cases", () => {
  it.each(JSON_CASES)("%s %s (protobuf-es accepts: %s)", (name, text, expected) => {
    expect(accepts(() => fromJsonString(schema(name), text))).toBe(expected);
    expect(checkJsonDecode(schema(name), compileCodec(schema(name)), text)).toBeUndefined();
  });

  it("ignores unknown keys and enum names with ignoreUnknownFields, as protobuf-es", () => {
    const scalars = schema("Scalars");
    const lenient = compileCodec(scalars, { ignoreUnknownFields: true });
    for (const text of ['{"unknown":{"a":[1,{"b":2}]},"fInt32":3}', '{"color":"BLUE"}', '{"x":{"a":1,"a":2}}']) {
      expect(checkJsonDecode(scalars, lenient, text, true)).toBeUndefined();
    }
    expect(lenient.fromJsonString('{"unknown":1,"fInt32":3}')).toMatchObject({ fInt32: 3 });
    expect(() => lenient.fromJsonString('{"x":{"a":1,"a":2}}')).toThrow(/duplicate/);
  });

  it("limits JSON nesting to 100, as protobuf-es", () => {
    const recursive = schema("Recursive");
    const codec = compileCodec(recursive);
    const text = (depth: number) => '{"child":'.repeat(depth) + "{}" + "}".repeat(depth);
    expect(() => codec.fromJsonString(text(99))).not.toThrow();
    expect(() => codec.fromJsonString(text(100))).toThrow(/recursion depth/);
    expect(checkJsonDecode(recursive, codec, text(100))).toBeUndefined();
  });
});
