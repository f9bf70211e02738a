import { Code, ConnectError } from "@connectrpc/connect";
import { FLAG_COMPRESSED, FrameReader, gunzipLimited } from "../protocol/index.ts";
import type { Frame } from "../protocol/index.ts";

/** One enveloped message of a response, its payload already decompressed. */
export interface ResponseFrame {
  readonly flags: number;
  readonly data: Uint8Array;
}

/**
 * Yields the enveloped frames of a response body, decompressed, for the Connect and gRPC-Web stream
 * readers. The size limit, gzip handling and a truncated last envelope are checked here once; what an
 * end-of-stream or trailer frame means stays with the protocol.
 *
 * @param encodingHeader the response header that announced gzip, named in the error when it did not
 */
export async function* readFrames(
  body: AsyncIterable<Buffer>,
  readMaxBytes: number,
  gzipped: boolean,
  encodingHeader: string,
): AsyncGenerator<ResponseFrame> {
  const reader = new FrameReader(readMaxBytes);
  const frames: Frame[] = [];
  for await (const chunk of body) {
    reader.push(chunk, frames);
    if (reader.problem === "oversize") {
      throw new ConnectError(`message size ${reader.declared} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
    }
    for (const f of frames.splice(0)) {
      if ((f.flags & FLAG_COMPRESSED) === 0) {
        yield f;
        continue;
      }
      if (!gzipped) throw new ConnectError(`protocol error: compressed message without ${encodingHeader}`, Code.Internal);
      yield { flags: f.flags, data: await gunzipLimited(f.data, readMaxBytes) };
    }
  }
  reader.finish();
  if (reader.problem !== undefined) throw new ConnectError("protocol error: incomplete envelope", Code.Internal);
}
