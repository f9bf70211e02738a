// gzip for messages, with the read limit applied to the DECOMPRESSED size (a gzip bomb stops at the
// limit and answers RESOURCE_EXHAUSTED instead of inflating gigabytes), and a cap on the inflation
// ratio (a few KB may not become megabytes of work for the parser).

import * as zlib from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";

/** The only compression besides identity that Weft speaks. */
export const GZIP = "gzip";

/** Returns true when a comma-separated accept-encoding header lists gzip. */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const v = typeof header === "string" ? header : header.join(",");
  return v.includes(GZIP);
}

/**
 * Checks a request's encoding header: returns true for gzip, false for identity/none, and throws
 * UNIMPLEMENTED for anything else (the gRPC and Connect specs ask for that code).
 */
export function requestIsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined || header === "identity" || header === "") return false;
  if (header === GZIP) return true;
  throw new ConnectError(`unknown compression "${String(header)}": supported encodings are gzip, identity`, Code.Unimplemented);
}

/** Default cap on how many times larger than its compressed form a request message may inflate. */
export const DEFAULT_MAX_DECOMPRESSION_RATIO = 100;
/** Any message may inflate to this many bytes whatever the ratio (small messages compress well). */
export const DECOMPRESSION_RATIO_FLOOR_BYTES = 1024 * 1024;

/** The most bytes `compressedBytes` may inflate to: the read limit, and `maxRatio` times its size above the floor (0 = no ratio cap). */
export function inflateLimit(compressedBytes: number, readMaxBytes: number, maxRatio: number): number {
  if (maxRatio === 0) return readMaxBytes;
  return Math.min(readMaxBytes, Math.max(DECOMPRESSION_RATIO_FLOOR_BYTES, compressedBytes * maxRatio));
}

/**
 * Inflates `data`, failing with RESOURCE_EXHAUSTED past `maxBytes` (or past `maxRatio` times its size,
 * above a 1 MiB floor; 0 = no ratio cap) and INVALID_ARGUMENT if corrupt.
 */
export function gunzipLimited(data: Uint8Array, readMaxBytes: number, maxRatio = 0): Promise<Buffer> {
  const maxBytes = inflateLimit(data.length, readMaxBytes, maxRatio);
  const what = maxBytes < readMaxBytes ? `${maxRatio} times its compressed size` : `configured readMaxBytes ${readMaxBytes}`;
  return new Promise((resolve, reject) => {
    // maxOutputLength must be >= 1; a limit of 0 still has to reject any non-empty output.
    zlib.gunzip(data, { maxOutputLength: Math.max(1, maxBytes + 1) }, (err, out) => {
      if (err !== null) {
        if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
          reject(new ConnectError(`message is larger than ${what} after decompression`, Code.ResourceExhausted));
        } else {
          reject(new ConnectError("invalid gzip data", Code.InvalidArgument, undefined, undefined, err));
        }
        return;
      }
      if (out.length > maxBytes) {
        reject(new ConnectError(`message size ${out.length} is larger than ${what}`, Code.ResourceExhausted));
        return;
      }
      resolve(out);
    });
  });
}

/** Deflates a response message. */
export function gzip(data: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.gzip(data, (err, out) => (err === null ? resolve(out) : reject(err)));
  });
}
