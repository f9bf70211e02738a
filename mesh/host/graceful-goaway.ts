// Closing an HTTP/2 session without losing the streams a client sends while the GOAWAY is on its way
// (the two-step shutdown gRPC servers use). A single GOAWAY names the last stream the server processed;
// streams already on the wire behind it are ignored, and if the socket then closes with them unread the
// client may see a reset instead of the GOAWAY, and cannot tell those calls from processed ones.
// Step 1: GOAWAY with the highest stream id (stop opening streams here; everything sent is accepted).
// Step 2: a PING; its ack comes after every stream the client sent before it saw step 1. Node's own
// client stops reading once it has a GOAWAY and no open stream, so it never acks: for it the bounded
// wait alone gives the streams on the wire time to arrive.
// Step 3: close(): the final GOAWAY with the real last stream id, then the session ends once its
// streams have (the streams that arrived meanwhile are answered, by the drain's refusal if draining).

import * as http2 from "node:http2";

const MAX_STREAM_ID = 2 ** 31 - 1;

/** Closes `session` in two GOAWAY steps; the PING wait is bounded by `pingTimeoutMs`. */
export async function closeSessionGracefully(session: http2.Http2Session, pingTimeoutMs: number): Promise<void> {
  if (session.closed || session.destroyed) return;
  try {
    session.goaway(http2.constants.NGHTTP2_NO_ERROR, MAX_STREAM_ID);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        session.off("close", done);
        resolve();
      };
      // A client that saw the GOAWAY may close first: its PING ack never comes then.
      const timer = setTimeout(done, pingTimeoutMs);
      session.once("close", done);
      if (!session.ping(done)) done();
    });
  } catch {
    // The session broke meanwhile: nothing left to announce.
  }
  if (!session.closed && !session.destroyed) session.close();
}
