// Credentials are cut from log lines wherever they sit: fields named like credentials (at any depth),
// credential headers, and credential-shaped text (bearer values, JWTs, header lines, key=value pairs).

import { describe, expect, it } from "vitest";
import { createJsonLogger } from "./logger.ts";
import { redactHeaders, redactText } from "./redact.ts";

const JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl";

describe("redaction", () => {
  it("cuts credential-shaped text and keeps the rest", () => {
    expect(redactText(`upstream said: Bearer ${JWT} was refused`)).toBe("upstream said: Bearer [redacted] was refused");
    expect(redactText(`token ${JWT}`)).not.toContain("c2lnbmF0dXJl");
    expect(redactText("cookie: __Host-weft-session=abc123; Path=/")).toBe("cookie: [redacted]");
    expect(redactText('{"email":"a@b.c","password":"hunter2 two"}')).toBe('{"email":"a@b.c","password":[redacted]}');
    expect(redactText("password=hunter2&next=/")).toBe("password=[redacted]&next=/");
    expect(redactText("product p-1 not found")).toBe("product p-1 not found");
  });

  it("writes credential headers as [redacted]", () => {
    expect(redactHeaders(new Headers({ authorization: "Bearer x", cookie: "a=b", "set-cookie": "s=1", accept: "*/*" }))).toEqual({
      authorization: "[redacted]", cookie: "[redacted]", "set-cookie": "[redacted]", accept: "*/*",
    });
  });

  it("log lines carry no credential: nested fields, headers, messages and error stacks", () => {
    const lines: string[] = [];
    const logger = createJsonLogger("t", { level: "info", write: (line) => lines.push(line) });
    const err = new Error(`login failed for Bearer ${JWT}`);
    logger.error(`call with authorization: Bearer ${JWT}`, {
      request: { headers: new Headers({ authorization: `Bearer ${JWT}`, "x-request-id": "r1" }), body: { email: "a@b.c", password: "hunter2" } },
      list: [{ sessionId: "s-123" }],
      at: new Date(0),
      error: err.message,
      stack: err.stack,
    });
    const text = lines.join("\n");
    for (const secret of [JWT, "hunter2", "s-123", "c2lnbmF0dXJl"]) expect(text).not.toContain(secret);
    expect(text).toContain("r1");
    expect(text).toContain("a@b.c");
    expect(text).toContain("1970-01-01T00:00:00.000Z");
  });
});
