import { describe, expect, it } from "vitest";
import { assertBoolean, assertFunction, assertInt, assertNonEmpty, assertNumber, assertObject, assertOneOf, WeftOptionsError } from "./index.ts";

const CODE = "WEFT_ERR_RESILIENCE_OPTIONS";

function thrown(fn: () => void): WeftOptionsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WeftOptionsError);
    expect(err).toBeInstanceOf(TypeError);
    return err as WeftOptionsError;
  }
  throw new Error("expected a throw");
}

describe("shared option checks", () => {
  it("accept valid values", () => {
    expect(() => {
      assertInt(CODE, 5, "options.n", 1, 10);
      assertNumber(CODE, 0.5, "options.r", 0, 1);
      assertBoolean(CODE, false, "options.b");
      assertNonEmpty(CODE, "x", "options.s");
      assertFunction(CODE, () => 1, "options.f");
      assertOneOf(CODE, "grpc", "options.k", ["grpc", "nats"]);
      assertObject(CODE, {}, "options");
    }).not.toThrow();
  });

  it("name the field, the range and the value, with the caller's code", () => {
    expect(thrown(() => assertInt(CODE, 1.5, "options.n", 1))).toMatchObject({
      code: CODE, message: "options.n must be an integer >= 1, got 1.5",
    });
    expect(thrown(() => assertInt("WEFT_ERR_CLIENT_OPTIONS", 11, "options.n", 1, 10))).toMatchObject({
      code: "WEFT_ERR_CLIENT_OPTIONS", message: "options.n must be an integer between 1 and 10, got 11",
    });
    expect(thrown(() => assertNumber(CODE, Number.NaN, "options.r", 0)).message).toBe("options.r must be a number >= 0, got NaN");
    expect(thrown(() => assertNumber(CODE, 2, "options.r", 0, 1)).message).toBe("options.r must be a number between 0 and 1, got 2");
    expect(thrown(() => assertBoolean(CODE, "yes", "options.b")).message).toBe("options.b must be a boolean, got yes");
    expect(thrown(() => assertNonEmpty(CODE, "", "options.s")).message).toBe("options.s must be a non-empty string");
    expect(thrown(() => assertFunction(CODE, 1, "options.f")).message).toBe("options.f must be a function");
    expect(thrown(() => assertOneOf(CODE, "x", "options.k", ["grpc", "nats"])).message).toBe('options.k must be "grpc" or "nats", got "x"');
    expect(thrown(() => assertObject(CODE, null, "options")).message).toBe("options must be an object");
  });
});
