// The compileCodec API: caching, option checks, forced delegation, registries, and that what the
// compiled codecs return is a real protobuf-es message and a Buffer the engine can send as is.

import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { clone, create, equals, fromBinary, fromJsonString, isMessage, toBinary, toJson, toJsonString } from "@bufbuild/protobuf";
import { createRegistry } from "@bufbuild/protobuf";
import { WeftOptionsError } from "../errors/index.ts";
import { UnaryCallRequestSchema, UnaryCallResponseSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { compileCodec, planCodec } from "./index.ts";
import { coverageFiles, proto2Registry } from "../../test/support/codec/coverage-files.ts";
import { reachableMessages } from "../../test/support/codec/gen-schemas.ts";

const request = create(UnaryCallRequestSchema, { responseSize: 16, payload: { body: new Uint8Array([1, 2, 3]) }, responseStatus: { code: 3, message: "bad" } });

describe("compileCodec", () => {
  it("caches one codec per schema and option set", () => {
    const codec = compileCodec(UnaryCallRequestSchema);
    expect(compileCodec(UnaryCallRequestSchema)).toBe(codec);
    expect(compileCodec(UnaryCallRequestSchema, { ignoreUnknownFields: false, mode: "auto" })).toBe(codec);
    expect(compileCodec(UnaryCallRequestSchema, { ignoreUnknownFields: true })).not.toBe(codec);
    expect(compileCodec(UnaryCallResponseSchema)).not.toBe(codec);
  });

  it("rejects invalid options with WEFT_ERR_PROTOCOL_OPTIONS, naming the field", () => {
    const bad: [unknown, string][] = [
      [null, "options must be an object"],
      [{ ignoreUnknownFields: "yes" }, "options.ignoreUnknownFields must be a boolean"],
      [{ mode: "fast" }, "options.mode must be"],
      [{ registry: {} }, "options.registry must be a protobuf-es Registry"],
    ];
    for (const [options, message] of bad) {
      const call = () => compileCodec(UnaryCallRequestSchema, options as never);
      expect(call).toThrow(WeftOptionsError);
      expect(call).toThrow(message);
    }
  });

  it("returns real protobuf-es messages", () => {
    const codec = compileCodec(UnaryCallRequestSchema);
    const decoded = codec.fromBinary(toBinary(UnaryCallRequestSchema, request));
    expect(isMessage(decoded, UnaryCallRequestSchema)).toBe(true);
    expect(equals(UnaryCallRequestSchema, decoded, request)).toBe(true);
    expect(toJson(UnaryCallRequestSchema, decoded)).toEqual(toJson(UnaryCallRequestSchema, request));
    expect(create(UnaryCallRequestSchema, decoded)).toBe(decoded);
    expect(equals(UnaryCallRequestSchema, clone(UnaryCallRequestSchema, decoded), request)).toBe(true);
    const fromJson = codec.fromJsonString(toJsonString(UnaryCallRequestSchema, request));
    expect(equals(UnaryCallRequestSchema, fromJson, request)).toBe(true);
  });

  it("gives every decoded message its own lists and maps", () => {
    const schema = reachableMessages(coverageFiles()).find((s) => s.name === "Repeats")!;
    const codec = compileCodec(schema);
    const a = codec.fromBinary(new Uint8Array([0x28, 0x01])) as unknown as { fInt32: number[] };
    const b = codec.fromBinary(new Uint8Array([])) as unknown as { fInt32: number[] };
    expect(a.fInt32).toEqual([1]);
    expect(b.fInt32).toEqual([]);
    expect(a.fInt32).not.toBe(b.fInt32);
  });

  it("encodes into an exact-size Buffer", () => {
    const bytes = compileCodec(UnaryCallRequestSchema).toBinary(request);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(Buffer.compare(bytes, toBinary(UnaryCallRequestSchema, request))).toBe(0);
    expect(bytes.byteLength).toBe(toBinary(UnaryCallRequestSchema, request).byteLength);
  });

  it("throws Errors on invalid input and on a message of another type", () => {
    const codec = compileCodec(UnaryCallRequestSchema);
    expect(() => codec.fromBinary(new Uint8Array([0x12, 0x05]))).toThrow(Error);
    expect(() => codec.fromJsonString('{"responseSize":"x"}')).toThrow(/cannot decode field weft.testing.v1.UnaryCallRequest.response_size from JSON/);
    const response = create(UnaryCallResponseSchema);
    expect(() => codec.toBinary(response as never)).toThrow(/cannot use field weft.testing.v1.UnaryCallRequest.response_size with message weft.testing.v1.UnaryCallResponse/);
    expect(() => codec.toJsonString(response as never)).toThrow(/cannot use/);
    expect(() => codec.fromBinary(new ArrayBuffer(2) as never)).toThrow(TypeError);
  });

  it("takes a non-string JSON argument the way protobuf-es does (JSON.parse coerces it)", () => {
    const text = Buffer.from('{"responseSize":7}');
    const expected = fromJsonString(UnaryCallRequestSchema, text as never);
    expect(equals(UnaryCallRequestSchema, compileCodec(UnaryCallRequestSchema).fromJsonString(text as never), expected)).toBe(true);
  });

  it("delegates everything with mode 'delegate', with the same results", () => {
    const codec = compileCodec(UnaryCallRequestSchema, { mode: "delegate" });
    expect(codec.mode.binary).toEqual({ compiled: false, reason: "options.mode is delegate" });
    expect(codec.mode.json.compiled).toBe(false);
    expect(Buffer.compare(codec.toBinary(request), compileCodec(UnaryCallRequestSchema).toBinary(request))).toBe(0);
    expect(equals(UnaryCallRequestSchema, codec.fromBinary(toBinary(UnaryCallRequestSchema, request)), request)).toBe(true);
  });

  it("compiles JSON with a registry without extensions, delegates it when the registry has some", () => {
    expect(compileCodec(UnaryCallRequestSchema, { registry: createRegistry(UnaryCallRequestSchema) }).mode.json).toEqual({ compiled: true });
    const registry = proto2Registry();
    const schema = registry.getMessage("codec.test.v2.Proto2")!;
    const codec = compileCodec(schema, { registry });
    expect(codec.mode).toEqual({ binary: { compiled: true }, json: { compiled: false, reason: "the registry holds extensions" } });
    // protobuf-es writes the extension (kept in $unknown) by its JSON name when given the registry.
    const message = fromBinary(schema, new Uint8Array([0xa2, 0x06, 0x02, 0x68, 0x69]));
    expect(codec.toJsonString(message)).toBe('{"[codec.test.v2.ext_value]":"hi"}');
    expect(compileCodec(schema).toJsonString(message)).toBe("{}");
  });

  it("falls back to protobuf-es where code generation is disallowed", () => {
    const script = `
      import { create, toBinary } from "@bufbuild/protobuf";
      import { UnaryCallRequestSchema as S } from "./gen/weft/testing/v1/test_pb.ts";
      import { compileCodec } from "./mesh/codec/index.ts";
      const codec = compileCodec(S);
      const m = create(S, { responseSize: 5 });
      const same = Buffer.compare(codec.toBinary(m), toBinary(S, m)) === 0 && codec.fromBinary(toBinary(S, m)).responseSize === 5;
      console.log(JSON.stringify({ mode: codec.mode, same }));`;
    const out = execFileSync(process.execPath, ["--disallow-code-generation-from-strings", "--input-type=module", "-e", script], {
      cwd: new URL("../../", import.meta.url),
      encoding: "utf8",
      timeout: 20_000,
    });
    const { mode, same } = JSON.parse(out) as { mode: { binary: { compiled: boolean; reason: string } }; same: boolean };
    expect(mode.binary.compiled).toBe(false);
    expect(mode.binary.reason).toMatch(/^code generation failed/);
    expect(same).toBe(true);
  });

  it("reports the plan without compiling", () => {
    expect(planCodec(UnaryCallRequestSchema, undefined)).toEqual({ binary: undefined, json: undefined });
  });
});
