// The one translation of an aborted AbortSignal into the ConnectError a caller sees, shared by the
// cache, events and compute adapters.

import { Code, ConnectError } from "@connectrpc/connect";

/** The error to reject with when `signal` aborted: its ConnectError reason, DeadlineExceeded or Canceled. */
export function abortError(signal: AbortSignal): ConnectError {
  const reason: unknown = signal.reason;
  if (reason instanceof ConnectError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new ConnectError("deadline exceeded", Code.DeadlineExceeded, undefined, undefined, reason);
  }
  return new ConnectError("operation was aborted", Code.Canceled, undefined, undefined, reason);
}

/** Rejects with `abortError(signal)` as soon as `signal` aborts; settles like `promise` otherwise. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
