import { Code, ConnectError } from "@connectrpc/connect";
import {
  AuthorizationError,
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node";
import { JetStreamApiError, JetStreamError } from "@nats-io/jetstream";

// JetStream API error codes (nats-server `server/errors.json`) that say the stream is full.
const STREAM_LIMIT_CODES = new Set([10027 /* store limit */, 10047 /* insufficient resources */, 10077 /* max messages */]);
// ...and those that say the request itself is wrong.
const BAD_REQUEST_CODES = new Set([10054 /* message size exceeds maximum allowed */]);

/**
 * The one place NATS / JetStream failures become Connect codes. The original error is kept as
 * `cause`; the message names the operation, never the broker's internals. Errors that already are
 * ConnectErrors pass through.
 */
export function natsToConnectError(err: unknown, operation: string): ConnectError {
  if (err instanceof ConnectError) return err;
  const fail = (code: Code, what: string) => new ConnectError(`${operation}: ${what}`, code, undefined, undefined, err);
  if (err instanceof TimeoutError) return fail(Code.Unavailable, "event broker did not answer in time");
  if (err instanceof NoRespondersError) return fail(Code.Unavailable, "event broker has no responder");
  if (err instanceof RequestError) return fail(Code.Unavailable, "event broker request failed");
  if (err instanceof ClosedConnectionError || err instanceof DrainingConnectionError) {
    return fail(Code.Unavailable, "event broker connection is closed");
  }
  if (err instanceof ConnectionError) return fail(Code.Unavailable, "event broker connection failed");
  if (err instanceof AuthorizationError || err instanceof PermissionViolationError) {
    return fail(Code.PermissionDenied, "not allowed by the event broker");
  }
  if (err instanceof Error && err.name === "JetStreamNotEnabled") return fail(Code.Unavailable, "JetStream is not enabled");
  if (err instanceof JetStreamApiError) {
    if (STREAM_LIMIT_CODES.has(err.code)) return fail(Code.ResourceExhausted, "event stream is full");
    if (BAD_REQUEST_CODES.has(err.code)) return fail(Code.InvalidArgument, "event rejected by the event stream");
    if (err.status === 503) return fail(Code.Unavailable, "event stream is unavailable");
    return fail(Code.Internal, "event stream request failed");
  }
  if (err instanceof JetStreamError) return fail(Code.Unavailable, "event stream request failed");
  if (err instanceof Error && err.name === "AbortError") return fail(Code.Canceled, "aborted");
  return fail(Code.Internal, "unexpected event broker failure");
}

/**
 * True for failures worth retrying with the same message id (the broker may come back). "JetStream not
 * enabled" is one of them once a bus is running: a clustered nats-server answers it for a moment while
 * its JetStream meta leader is lost (a bus on a server without JetStream fails when it starts).
 */
export function isTransientNatsError(err: unknown): boolean {
  return (
    err instanceof TimeoutError ||
    (err instanceof Error && err.name === "JetStreamNotEnabled") ||
    err instanceof NoRespondersError ||
    err instanceof RequestError ||
    err instanceof ConnectionError ||
    (err instanceof JetStreamApiError && err.status === 503) ||
    (err instanceof JetStreamError && !(err instanceof JetStreamApiError))
  );
}
