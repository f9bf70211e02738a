import { describe, expect, it } from "vitest";
import { createCorsPolicy, isPreflight } from "./cors.ts";

describe("createCorsPolicy", () => {
  const policy = createCorsPolicy(["https://shop.example"]);

  it("answers an allowed preflight with the origin, methods and requested headers", () => {
    const answer = policy.preflight("https://shop.example", "post", "content-type, x-custom");
    expect(answer.status).toBe(204);
    expect(answer.headers["access-control-allow-origin"]).toBe("https://shop.example");
    expect(answer.headers["access-control-allow-methods"]).toContain("POST");
    expect(answer.headers["access-control-allow-headers"]).toBe("content-type, x-custom");
  });

  it("lists connect's headers when the browser asks for none in particular", () => {
    const answer = policy.preflight("https://shop.example", "GET", undefined);
    expect(answer.headers["access-control-allow-headers"]).toMatch(/Connect-Protocol-Version/);
    expect(answer.headers["access-control-allow-headers"]).toMatch(/X-Grpc-Web/);
  });

  it("refuses other origins and methods other than GET and POST", () => {
    expect(policy.preflight("https://evil.example", "POST", undefined).status).toBe(403);
    expect(policy.preflight("https://evil.example", "POST", undefined).headers["access-control-allow-origin"]).toBeUndefined();
    expect(policy.preflight("https://shop.example", "DELETE", undefined).status).toBe(403);
  });

  it("exposes the status headers to allowed origins only", () => {
    expect(policy.responseHeaders("https://shop.example")["access-control-expose-headers"]).toMatch(/Grpc-Status/);
    expect(policy.responseHeaders("https://evil.example")).toEqual({});
    expect(policy.responseHeaders(undefined)).toEqual({});
  });

  it("lets origins named exactly send credentials (cookies), never ones let in by *", () => {
    expect(policy.preflight("https://shop.example", "POST", undefined).headers["access-control-allow-credentials"]).toBe("true");
    expect(policy.responseHeaders("https://shop.example")["access-control-allow-credentials"]).toBe("true");
    const any = createCorsPolicy(["*", "https://named.example"]);
    expect(any.preflight("http://anything:1234", "POST", undefined).headers["access-control-allow-origin"]).toBe("http://anything:1234");
    expect(any.preflight("http://anything:1234", "POST", undefined).headers["access-control-allow-credentials"]).toBeUndefined();
    expect(any.responseHeaders("http://anything:1234")["access-control-allow-credentials"]).toBeUndefined();
    expect(any.responseHeaders("https://named.example")["access-control-allow-credentials"]).toBe("true");
  });

  it("is disabled with no origins and allows everything with *", () => {
    expect(createCorsPolicy([]).enabled).toBe(false);
    expect(createCorsPolicy(["*"]).isAllowedOrigin("http://anything:1234")).toBe(true);
  });

  it("recognises preflights", () => {
    expect(isPreflight("OPTIONS", "https://a", "POST")).toBe(true);
    expect(isPreflight("OPTIONS", undefined, "POST")).toBe(false);
    expect(isPreflight("POST", "https://a", "POST")).toBe(false);
  });
});
