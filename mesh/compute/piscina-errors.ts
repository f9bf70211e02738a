import { Code, ConnectError } from "@connectrpc/connect";
import { abortError } from "../errors/index.ts";

// piscina's messages (piscina/dist/errors.js); it has no error codes, so these are matched here only.
const QUEUE_FULL = new Set(["Task queue is at limit", "No task queue available and all Workers are busy"]);
const TERMINATING = "Terminating worker thread";
const WORKER_EXITED = /^worker exited with code/;

/**
 * The one place worker-pool failures become Connect codes: a full queue is RESOURCE_EXHAUSTED, an
 * aborted task Canceled or DeadlineExceeded (from the caller's signal), a closing pool Unavailable, and
 * a task that threw or whose worker died Internal, with the original kept as `cause` and no internals
 * in the message.
 */
export function poolToConnectError(err: unknown, signal: AbortSignal | undefined): ConnectError {
  if (err instanceof ConnectError) return err;
  const message = err instanceof Error ? err.message : "";
  const fail = (code: Code, text: string) => new ConnectError(text, code, undefined, undefined, err);
  if (QUEUE_FULL.has(message)) return fail(Code.ResourceExhausted, "compute pool is at capacity");
  if (err instanceof Error && err.name === "AbortError") {
    return signal?.aborted ? abortError(signal) : fail(Code.Canceled, "compute task was aborted");
  }
  if (message === TERMINATING) return fail(Code.Unavailable, "compute pool is closing");
  if (WORKER_EXITED.test(message)) return fail(Code.Internal, "compute task crashed its worker");
  return fail(Code.Internal, "compute task failed");
}
