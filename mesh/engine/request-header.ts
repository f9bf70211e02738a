// One request header read without building the WHATWG Headers of the whole request: Weft's handler
// contexts keep the transport's raw headers and answer single reads from them.

import type { HandlerContext } from "@connectrpc/connect";

/** A context that reads one request header from its raw headers (Weft's engines). */
interface RawHeaderReader {
  requestHeaderValue?(name: string): string | undefined;
}

/** True when `context` answers single header reads without building its Headers (Weft's engines). */
export function readsRawHeaders(context: HandlerContext): boolean {
  return (context as RawHeaderReader).requestHeaderValue !== undefined;
}

/**
 * The value of request header `name` (lower-case), or undefined when absent; the same value as
 * `context.requestHeader.get(name)`, without building `requestHeader` on a Weft context.
 */
export function requestHeaderValue(context: HandlerContext, name: string): string | undefined {
  const read = (context as RawHeaderReader).requestHeaderValue;
  return read !== undefined ? read.call(context, name) : (context.requestHeader.get(name) ?? undefined);
}
