// How the host refuses a connection past maxConnections: in the protocol the client speaks, so it sees
// a reason rather than a reset. Both answers are fixed bytes, written once and the socket ended.

/** The reason every refusal carries. */
const REASON = "too many connections";

/** HTTP/1.1: 503 with Retry-After, and the connection closes. */
export const HTTP1_REFUSAL = Buffer.from(
  `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: ${REASON.length + 1}\r\n\r\n${REASON}\n`,
  "latin1",
);

/** HTTP/2: the server's (empty) SETTINGS, then GOAWAY with ENHANCE_YOUR_CALM and the reason as debug data. */
export const H2_REFUSAL = (() => {
  const settings = Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
  const debug = Buffer.from(REASON, "latin1");
  const goaway = Buffer.alloc(9 + 8 + debug.length);
  goaway.writeUIntBE(8 + debug.length, 0, 3); // length
  goaway[3] = 0x7; // GOAWAY, no flags, stream 0
  goaway.writeUInt32BE(0, 9); // last stream id: none processed
  goaway.writeUInt32BE(0xb, 13); // ENHANCE_YOUR_CALM
  debug.copy(goaway, 17);
  return Buffer.concat([settings, goaway]);
})();
