import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { formatGrpcTimeout, parseTimeoutHeader } from "./timeout.ts";

describe("timeouts", () => {
  it.each([
    ["1H", 3_600_000], ["2M", 120_000], ["3S", 3000], ["250m", 250], ["1500u", 1.5], ["2000000n", 2],
  ])("parses grpc-timeout %s", (value, ms) => {
    expect(parseTimeoutHeader(value, true, 0)).toBe(ms);
  });

  it.each(["", "5", "10x", "123456789S", "-1S", "1.5S"])("rejects grpc-timeout %j with INVALID_ARGUMENT", (value) => {
    expect(() => parseTimeoutHeader(value, true, 0)).toThrow(expect.objectContaining({ code: Code.InvalidArgument }) as ConnectError);
  });

  it("parses connect-timeout-ms and rejects non-digits", () => {
    expect(parseTimeoutHeader("1500", false, 0)).toBe(1500);
    expect(() => parseTimeoutHeader("1.5", false, 0)).toThrow(ConnectError);
    expect(() => parseTimeoutHeader("12345678901", false, 0)).toThrow(ConnectError);
  });

  it("answers a timeout above the cap with INVALID_ARGUMENT and none for an absent header", () => {
    expect(() => parseTimeoutHeader("2S", true, 1000)).toThrow(expect.objectContaining({ code: Code.InvalidArgument }) as ConnectError);
    expect(parseTimeoutHeader("1000", false, 1000)).toBe(1000);
    expect(parseTimeoutHeader(undefined, true, 1000)).toBeUndefined();
  });

  it("formats grpc-timeout within 8 digits", () => {
    expect(formatGrpcTimeout(250)).toBe("250m");
    expect(formatGrpcTimeout(0.2)).toBe("1m");
    expect(formatGrpcTimeout(1e9)).toBe("1000000S");
    expect(parseTimeoutHeader(formatGrpcTimeout(123_456_789_012), true, 0)).toBeGreaterThanOrEqual(123_456_789_012);
  });
});
