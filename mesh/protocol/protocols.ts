// The four wire protocols one engine serves, and how a request's content type names one. Numbers
// rather than strings because they index tables and are compared on every call; `as const` objects
// give them names.

/** The protocols, by name. */
export const Protocol = { grpc: 0, grpcWeb: 1, connect: 2, connectStream: 3 } as const;
/** One of the protocols. */
export type Protocol = (typeof Protocol)[keyof typeof Protocol];

/** What handlers and call hooks see in `context.protocolName`, by protocol. */
export const PROTOCOL_NAMES: readonly string[] = ["grpc", "grpc-web", "connect", "connect"];

/** Where a call is: reading the request or running the handler, response head sent, over. */
export const CallState = { reading: 0, headSent: 1, over: 2 } as const;
/** One of the call states. */
export type CallState = (typeof CallState)[keyof typeof CallState];

/** protocol * 2 + (json ? 1 : 0); -1 for a content type no protocol claims. */
const CT = new Map<string, number>([
  ["application/grpc", Protocol.grpc * 2],
  ["application/grpc+proto", Protocol.grpc * 2],
  ["application/grpc+json", Protocol.grpc * 2 + 1],
  ["application/grpc-web", Protocol.grpcWeb * 2],
  ["application/grpc-web+proto", Protocol.grpcWeb * 2],
  ["application/grpc-web+json", Protocol.grpcWeb * 2 + 1],
  ["application/proto", Protocol.connect * 2],
  ["application/json", Protocol.connect * 2 + 1],
  ["application/connect+proto", Protocol.connectStream * 2],
  ["application/connect+json", Protocol.connectStream * 2 + 1],
]);

/** The response content type by protocol, then binary / JSON. */
export const RESPONSE_CT: readonly (readonly [string, string])[] = [
  ["application/grpc+proto", "application/grpc+json"],
  ["application/grpc-web+proto", "application/grpc-web+json"],
  ["application/proto", "application/json"],
  ["application/connect+proto", "application/connect+json"],
];

/** Maps a request content type to protocol*2+json, or -1. Exact matches first, then normalised. */
export function classifyContentType(ct: string | undefined): number {
  if (ct === undefined) return -1;
  const exact = CT.get(ct);
  if (exact !== undefined) return exact;
  const semi = ct.indexOf(";");
  const base = (semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  const v = CT.get(base);
  if (v === undefined) return -1;
  if (semi >= 0 && v === Protocol.connect * 2 + 1) {
    // application/json; charset=utf-8 is fine, any other charset is not.
    const params = ct.slice(semi + 1).toLowerCase().replace(/\s/g, "");
    if (params !== "" && params !== "charset=utf-8") return -1;
  }
  return v;
}
