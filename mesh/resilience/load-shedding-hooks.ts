// Load shedding as server call hooks (the host's and the NATS RPC server's `callHooks`): a concurrency
// limiter plus an event-loop guard admit calls, the excess is refused at once with the shared
// `weft-refused: overloaded` RESOURCE_EXHAUSTED. Deferred calls (the guard is shedding) start after the turn's I/O through
// the hooks' `defer`; the synchronous part of each call is timed in `scope` for the guard's budget.

import type { DescService } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import type { ServerCallHooks } from "../engine/index.ts";
import type { Admission } from "./concurrency-limiter.ts";
import { latencyNeutral, resolveShedding, type LoadSheddingOptions } from "./load-shedding.ts";

/** Per admitted call: its limiter slot and whether the guard deferred it. */
interface SheddingToken {
  readonly admission: Admission;
  readonly deferred: boolean;
}

/** Creates the load-shedding hooks (one set per process: pass the same hooks to the host and the NATS RPC server). */
export function createLoadSheddingHooks(options: LoadSheddingOptions): ServerCallHooks {
  const { limiter, exempt, guard, overloaded, shed } = resolveShedding(options);
  const hooks: ServerCallHooks = {
    begin(service: DescService, context): SheddingToken | undefined {
      if (exempt.has(service.typeName)) return undefined;
      const verdict = guard === undefined ? "run" : guard.admit();
      const admission = verdict === "refuse" ? undefined : limiter.tryAcquire();
      if (admission === undefined) {
        if (shed !== undefined) shed[verdict === "refuse" ? "eventLoop" : "concurrencyLimit"].value++;
        throw overloaded;
      }
      if (context.method.methodKind !== "unary") {
        // A stream holds its slot only while it starts: its duration is not a
        // latency, and long streams must not starve unary calls of the limit.
        limiter.release(admission, false);
        return undefined;
      }
      return { admission, deferred: verdict === "defer" };
    },
    end(token, error: ConnectError | undefined) {
      const t = token as SheddingToken | undefined;
      if (t === undefined) return;
      // Errors that are the call's own fault say nothing about the server's latency.
      limiter.release(t.admission, error === undefined ? true : latencyNeutral(error));
    },
    defer(token) {
      return (token as SheddingToken | undefined)?.deferred === true;
    },
  };
  if (guard !== undefined) {
    hooks.scope = (_context, fn, ...args) => {
      const t0 = performance.now();
      try {
        return fn(...args);
      } finally {
        guard.record(performance.now() - t0);
      }
    };
  }
  return hooks;
}
