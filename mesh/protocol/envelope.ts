// gRPC / gRPC-Web / Connect-streaming length-prefixed framing: 1 flag byte, 4 bytes big-endian length,
// then the payload. Shared by the server engine and the client transport.

/** Flag bit: the payload is compressed with the negotiated encoding. */
export const FLAG_COMPRESSED = 0b0000_0001;
/** Flag bit (Connect streaming): the frame is the end-of-stream JSON message. */
export const FLAG_END_STREAM = 0b0000_0010;
/** Flag bit (gRPC-Web): the frame carries the trailers. */
export const FLAG_TRAILER = 0b1000_0000;

/** Frames `payload` into one new buffer (header + payload, one write on the wire). */
export function encodeFrame(flags: number, payload: Uint8Array): Buffer {
  const len = payload.byteLength;
  const out = Buffer.allocUnsafe(len + 5);
  out[0] = flags;
  out.writeUInt32BE(len, 1);
  out.set(payload, 5);
  return out;
}

const EMPTY = Buffer.alloc(0);

/** A decoded frame. */
export interface Frame {
  readonly flags: number;
  readonly data: Buffer;
}

/** Why a frame stream could not be parsed. */
export type FrameProblem = "oversize" | "truncated";

/**
 * Incremental frame parser: push body chunks in, take whole frames out. It never buffers more than one
 * frame of at most `maxPayloadBytes` (the declared length is checked as soon as the 5-byte header is in).
 */
export class FrameReader {
  readonly #maxPayloadBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = -1; // payload length of the frame in progress, -1 while reading a header
  #flags = 0;
  /** Set when a frame declared more than `maxPayloadBytes`; the reader stops parsing. */
  problem: FrameProblem | undefined = undefined;
  /** The declared length of the oversize frame, for error messages. */
  declared = 0;

  constructor(maxPayloadBytes: number) {
    this.#maxPayloadBytes = maxPayloadBytes;
  }

  /** Bytes held that do not yet form a whole frame. */
  get pending(): number {
    return this.#buffered;
  }

  /** Adds a chunk and appends every complete frame to `out`. */
  push(chunk: Buffer, out: Frame[]): void {
    if (this.problem !== undefined) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < 5) return;
        const head = this.#take(5);
        this.#flags = head[0];
        const len = head.readUInt32BE(1);
        if (len > this.#maxPayloadBytes) {
          this.problem = "oversize";
          this.declared = len;
          this.#chunks = [];
          this.#buffered = 0;
          return;
        }
        this.#need = len;
      }
      if (this.#buffered < this.#need) return;
      const data = this.#take(this.#need);
      out.push({ flags: this.#flags, data });
      this.#need = -1;
    }
  }

  /** Call at end of body: marks a partial frame as `truncated`. */
  finish(): void {
    if (this.problem === undefined && (this.#buffered > 0 || this.#need >= 0)) this.problem = "truncated";
  }

  #take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.#chunks[0];
    if (first.length === n) {
      this.#chunks.shift();
      this.#buffered -= n;
      return first;
    }
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      this.#buffered -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0];
      const want = n - off;
      if (c.length <= want) {
        out.set(c, off);
        off += c.length;
        this.#chunks.shift();
      } else {
        out.set(c.subarray(0, want), off);
        this.#chunks[0] = c.subarray(want);
        off += want;
      }
    }
    this.#buffered -= n;
    return out;
  }
}
