// Load shedding as server call hooks (the host's and the NATS RPC server's `callHooks`): a concurrency
// limiter plus an event-loop guard admit calls; a call that finds no room waits in a bounded queue
// (admission-queue.ts, through the hooks' asynchronous `admit`), and is refused with the shared
// `weft-refused: overloaded` RESOURCE_EXHAUSTED only when the queue is full or its wait runs out.
// Deferred calls (the guard is shedding) start after the turn's I/O through the hooks' `defer`; the
// synchronous part of each call is timed in `scope` for the guard's budget.

import type { DescService } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import type { CallHookContext, ServerCallHooks } from "../engine/index.ts";
import type { Admission } from "./concurrency-limiter.ts";
import { latencyNeutral, resolveShedding, type LoadSheddingOptions } from "./load-shedding.ts";

/** Per admitted (or waiting) call: its limiter slot once it has one, and how it starts. */
interface SheddingToken {
  admission: Admission | undefined;
  deferred: boolean;
  /** While the call waits in the queue: settles when it starts (or rejects when refused). */
  waiting: Promise<void> | undefined;
  /** Ended before it started (a later hook refused it): a slot granted to it goes back at once. */
  ended: boolean;
}

/** Creates the load-shedding hooks (one set per process: pass the same hooks to the host and the NATS RPC server). */
export function createLoadSheddingHooks(options: LoadSheddingOptions): ServerCallHooks {
  const { limiter, exempt, guard, overloaded, shed, queue, pacer } = resolveShedding(options);
  let drainScheduled = false;

  /** Counts a refusal: the guard's budget was spent, or the limit was full. */
  function countShed(byGuard: boolean): void {
    if (shed !== undefined) shed[byGuard ? "eventLoop" : "concurrencyLimit"].value++;
  }

  // Starts waiting calls while there is a slot and turn budget; a spent budget resumes next turn.
  let grant: SheddingToken | undefined;
  function tryStart(): boolean {
    if (limiter.inFlight >= limiter.limit) return false;
    if (guard !== undefined && guard.admit() === "refuse") {
      scheduleDrain();
      return false;
    }
    grant = { admission: limiter.tryAcquire(), deferred: false, waiting: undefined, ended: false };
    return grant.admission !== undefined;
  }
  // A turn starts at most a turn's budget of queued work (the guard's estimate), the rest in later
  // turns: started calls run their handlers (and end, and start the next) within the same turn, so
  // draining a whole queue at once made one turn of seconds. The budget renews with each scheduled drain.
  const turnStarts = () => (guard === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(guard.turnBudgetMs / Math.max(guard.costMs, 0.01))));
  let startsLeft = turnStarts();
  function tryStartInTurn(): boolean {
    if (startsLeft <= 0) {
      scheduleDrain();
      return false;
    }
    if (!tryStart()) return false;
    startsLeft--;
    return true;
  }
  function drain(): void {
    queue?.drain(tryStartInTurn);
  }
  function scheduleDrain(): void {
    if (drainScheduled) return;
    drainScheduled = true;
    setImmediate(() => {
      drainScheduled = false;
      startsLeft = turnStarts();
      drain();
    });
  }

  /** Queues a call the limiter or guard has no room for; undefined when the queue is full too. */
  function wait(context: CallHookContext, byGuard: boolean): SheddingToken | undefined {
    if (queue === undefined) return undefined;
    const token: SheddingToken = { admission: undefined, deferred: false, waiting: undefined, ended: false };
    let start!: () => void;
    let refuse!: (e: ConnectError) => void;
    token.waiting = new Promise<void>((resolve, reject) => {
      start = resolve;
      refuse = reject;
    });
    const queued = queue.enqueue({
      start() {
        if (token.ended) {
          limiter.release(grant!.admission!, false);
          return;
        }
        pacer?.started();
        token.admission = grant!.admission;
        token.waiting = undefined;
        start();
      },
      refuse() {
        countShed(byGuard);
        refuse(overloaded);
      },
    }, {
      limit: limiter.limit,
      // The guard's budget is per turn, not per latency: only the limit's wait can be foreseen.
      msPerStart: byGuard ? 0 : limiter.latencyMs / Math.max(1, limiter.limit),
      timeoutMs: context.timeoutMs(),
      signal: context.signal,
    });
    if (!queued) return undefined;
    // Handled here too: when a later hook refuses the call, nobody awaits it.
    token.waiting.catch(() => {});
    // A call ending wakes the queue; when the guard holds it (no call may be in flight), the next turn does.
    scheduleDrain();
    return token;
  }

  const hooks: ServerCallHooks = {
    begin(service: DescService, context): SheddingToken | undefined {
      if (exempt.has(service.typeName)) return undefined;
      const unary = context.method.methodKind === "unary";
      // Calls already waiting go first: a new arrival does not overtake them.
      const verdict = queue !== undefined && queue.length > 0 && unary ? "queue" : guard === undefined ? "run" : guard.admit();
      const admission = verdict === "run" || verdict === "defer" ? limiter.tryAcquire() : undefined;
      if (admission === undefined) {
        const byGuard = verdict === "refuse";
        const token = unary ? wait(context, byGuard) : undefined;
        if (token !== undefined) return token;
        countShed(byGuard);
        if (!unary || pacer === undefined || pacer.instant()) throw overloaded;
        // Beyond a few refusals per call served: held, so a closed loop's callers do not come back at once.
        const held: SheddingToken = { admission: undefined, deferred: false, waiting: undefined, ended: false };
        held.waiting = new Promise<void>((_resolve, reject) => pacer.hold(() => reject(overloaded), context.signal));
        held.waiting.catch(() => {});
        return held;
      }
      pacer?.started();
      if (!unary) {
        // A stream holds its slot only while it starts: its duration is not a
        // latency, and long streams must not starve unary calls of the limit.
        limiter.release(admission, false);
        return undefined;
      }
      return { admission, deferred: verdict === "defer", waiting: undefined, ended: false };
    },
    admit(token) {
      return (token as SheddingToken | undefined)?.waiting;
    },
    end(token, error: ConnectError | undefined) {
      const t = token as SheddingToken | undefined;
      if (t === undefined) return;
      t.ended = true;
      if (t.admission === undefined) return;
      // Errors that are the call's own fault say nothing about the server's latency.
      limiter.release(t.admission, error === undefined ? true : latencyNeutral(error));
      if (queue !== undefined && queue.length > 0) drain();
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
