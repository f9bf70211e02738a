// The client address rule: the socket's address unless it is a trusted proxy, then X-Forwarded-For read
// from the right up to the first address that is not a trusted proxy.

import { describe, expect, it } from "vitest";
import { clientAddressOf, peerAddressOf, readTrustedProxies } from "./index.ts";

const call = (peerAddress: string | undefined, forwardedFor?: string) => ({
  peerAddress,
  requestHeader: new Headers(forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor }),
});

describe("client address", () => {
  const behindProxies = clientAddressOf(readTrustedProxies("10.0.0.0/8, 127.0.0.1, fd00::/8"));

  it("without trusted proxies is the socket's address, whatever X-Forwarded-For says", () => {
    expect(clientAddressOf(readTrustedProxies(""))).toBe(peerAddressOf);
    expect(peerAddressOf(call("127.0.0.1", "203.0.113.9"))).toBe("127.0.0.1");
    expect(peerAddressOf(call("::ffff:198.51.100.4"))).toBe("198.51.100.4");
    expect(peerAddressOf(call(undefined, "203.0.113.9"))).toBeUndefined();
  });

  it("from a trusted proxy is the rightmost forwarded address that is not a trusted proxy", () => {
    expect(behindProxies(call("10.1.2.3", "203.0.113.9"))).toBe("203.0.113.9");
    // Two trusted hops (an ingress behind a load balancer), IPv4 mapped into IPv6 on the socket.
    expect(behindProxies(call("::ffff:127.0.0.1", "203.0.113.9, 10.9.9.9"))).toBe("203.0.113.9");
    expect(behindProxies(call("fd00::1", "2001:db8::7"))).toBe("2001:db8::7");
    // Several header lines are one list.
    const twoLines = new Headers();
    twoLines.append("x-forwarded-for", "198.51.100.1");
    twoLines.append("x-forwarded-for", "10.0.0.5");
    expect(behindProxies({ peerAddress: "10.0.0.6", requestHeader: twoLines })).toBe("198.51.100.1");
  });

  it("never believes what the client wrote left of the address the proxy saw", () => {
    // The client sent "X-Forwarded-For: 198.51.100.77" itself; the proxy appended the address it saw.
    expect(behindProxies(call("10.1.2.3", "198.51.100.77, 203.0.113.9"))).toBe("203.0.113.9");
    expect(behindProxies(call("10.1.2.3", "127.0.0.1, 203.0.113.9"))).toBe("203.0.113.9");
  });

  it("from an untrusted socket ignores the header; a malformed hop falls back to the socket; no header is the proxy", () => {
    expect(behindProxies(call("203.0.113.50", "198.51.100.1"))).toBe("203.0.113.50");
    expect(behindProxies(call("10.1.2.3", "198.51.100.1, not-an-address"))).toBe("10.1.2.3");
    expect(behindProxies(call("10.1.2.3"))).toBe("10.1.2.3");
    expect(behindProxies(call("10.1.2.3", "10.0.0.1, 10.0.0.2"))).toBe("10.0.0.1");
  });

  it("refuses a setting that is not addresses and CIDR ranges, naming the entry", () => {
    for (const bad of ["10.0.0.0/33", "example.com", "10.0.0.0/", "fd00::/129", "1.2.3.4/8/2", "10.0.0.0/x"]) {
      expect(() => readTrustedProxies(`127.0.0.1,${bad}`)).toThrow(`GATEWAY_TRUSTED_PROXIES has ${JSON.stringify(bad)}`);
    }
    expect(readTrustedProxies(" , ")).toBeUndefined();
  });
});
