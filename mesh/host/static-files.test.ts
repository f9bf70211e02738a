import { describe, expect, it } from "vitest";
import { contentTypeFor, safeSegments } from "./static-files.ts";

describe("safeSegments", () => {
  it("decodes plain paths and keeps a trailing slash as an empty last segment", () => {
    expect(safeSegments("/")).toEqual([""]);
    expect(safeSegments("/assets/app%20one.js")).toEqual(["assets", "app one.js"]);
    expect(safeSegments("/docs/")).toEqual(["docs", ""]);
  });

  it("refuses dot segments, hidden names, encoded separators, NUL and empty inner segments", () => {
    for (const p of ["/..", "/a/../b", "/%2e%2e/x", "/.git/config", "/a%2fb", "/a%5cb", "/a%00.js", "//etc/passwd", "/a//b"]) {
      expect(safeSegments(p), p).toBe(404);
    }
  });

  it("answers 400 for undecodable or relative paths", () => {
    expect(safeSegments("/%E0%A4%A")).toBe(400);
    expect(safeSegments("x/y")).toBe(400);
  });
});

describe("contentTypeFor", () => {
  it("maps common web files, case-insensitively, and falls back to octet-stream", () => {
    expect(contentTypeFor("index.HTML")).toBe("text/html; charset=utf-8");
    expect(contentTypeFor("a.woff2")).toBe("font/woff2");
    expect(contentTypeFor("Makefile")).toBe("application/octet-stream");
  });
});
