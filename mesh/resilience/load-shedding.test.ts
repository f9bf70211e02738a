import { Code, ConnectError, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createConcurrencyLimiter } from "./concurrency-limiter.ts";
import type { EventLoopGuard, GuardVerdict } from "./event-loop-guard.ts";
import { createLoadSheddingHooks } from "./load-shedding-hooks.ts";
import type { LoadSheddingOptions } from "./load-shedding.ts";
import { callHooksInterceptor, composeCallHooks, isRefusal, REFUSED_HEADER } from "../engine/index.ts";

// Only what the hooks and their interceptor adapter read of a request.
const request = (typeName = TestService.typeName) =>
  ({ service: { typeName }, method: { methodKind: "unary" }, stream: false, header: new Headers() }) as unknown as UnaryRequest;

// The hooks run through the adapter engines without call-end reporting use (connect-node).
const sheddingInterceptor = (options: LoadSheddingOptions) => callHooksInterceptor(composeCallHooks([createLoadSheddingHooks(options)], new Set())!);

describe("load-shedding hooks", () => {
  it("refuses beyond the limit with a marked RESOURCE_EXHAUSTED and releases when a call ends", async () => {
    const limiter = createConcurrencyLimiter({ initialLimit: 1, minLimit: 1, maxLimit: 1 });
    let finish: (() => void) | undefined;
    const next = () => new Promise<UnaryResponse>((resolve) => (finish = () => resolve({} as UnaryResponse)));
    const handle = sheddingInterceptor({ limiter, eventLoopGuard: false, queue: false })(next as never);
    const first = handle(request());
    const refusals = await Promise.allSettled([handle(request()), handle(request())]);
    const errors = refusals.map((r) => (r as PromiseRejectedResult).reason as ConnectError);
    for (const err of errors) {
      expect(err).toBeInstanceOf(ConnectError);
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(err.metadata.get(REFUSED_HEADER)).toBe("overloaded");
      expect(isRefusal(err)).toBe(true);
    }
    // Refusals come in floods: one prebuilt error, not a stack trace and Headers per refusal.
    expect(errors[0]).toBe(errors[1]);
    finish!();
    await first;
    expect(limiter.inFlight).toBe(0);
    const again = handle(request());
    finish!();
    await expect(again).resolves.toBeDefined();
  });

  it("never sheds health checks, reflection or admin", async () => {
    const limiter = createConcurrencyLimiter({ initialLimit: 1, minLimit: 1, maxLimit: 1 });
    limiter.tryAcquire();
    const handle = sheddingInterceptor({ limiter, eventLoopGuard: false })((async () => ({}) as UnaryResponse) as never);
    await expect(handle(request("grpc.health.v1.Health"))).resolves.toBeDefined();
    await expect(handle(request())).rejects.toThrow(/overloaded/);
  });

  it("follows the event-loop guard: refuses, or starts the call after the turn's I/O, timing its synchronous part", async () => {
    let verdict: GuardVerdict = "refuse";
    const samples: number[] = [];
    const guard: EventLoopGuard = { admit: () => verdict, record: (ms) => void samples.push(ms), shedding: true, refused: 0, turnBudgetMs: 4, costMs: 0 };
    const limiter = createConcurrencyLimiter({ initialLimit: 10 });
    const started: string[] = [];
    const handle = sheddingInterceptor({ limiter, eventLoopGuard: guard, queue: false })((async () => {
      started.push("handler");
      return {} as UnaryResponse;
    }) as never);
    await expect(handle(request())).rejects.toMatchObject({ code: Code.ResourceExhausted });
    expect(limiter.inFlight).toBe(0);
    verdict = "defer";
    const deferred = handle(request());
    // Not started within this turn: the turn's refusals go out first.
    await Promise.resolve();
    expect(started).toEqual([]);
    await new Promise((r) => setImmediate(r));
    await deferred;
    expect(started).toEqual(["handler"]);
    verdict = "run";
    await handle(request());
    expect(started).toEqual(["handler", "handler"]);
    expect(samples.length).toBe(2);
    expect(limiter.inFlight).toBe(0);
  });

  it("holds a burst beyond the limit in a bounded queue: waiters start in order as calls end; overflow and a wait that runs out are refused", async () => {
    const limiter = createConcurrencyLimiter({ initialLimit: 1, minLimit: 1, maxLimit: 1 });
    const finish: (() => void)[] = [];
    const started: number[] = [];
    let n = 0;
    const next = () => {
      started.push(++n);
      return new Promise<UnaryResponse>((resolve) => finish.push(() => resolve({} as UnaryResponse)));
    };
    const handle = sheddingInterceptor({ limiter, eventLoopGuard: false, queue: { queuedPerLimit: 2, minQueuedCalls: 0, maxWaitMs: 10_000 } })(next as never);
    const calls = [handle(request()), handle(request()), handle(request())];
    // Two wait (twice the limit of one); the next is refused at once, before anything ends.
    await expect(handle(request())).rejects.toMatchObject({ code: Code.ResourceExhausted });
    expect(started).toEqual([1]);
    finish.shift()!();
    await calls[0];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([1, 2]);
    finish.shift()!();
    await calls[1];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([1, 2, 3]);
    finish.shift()!();
    await calls[2];
    expect(limiter.inFlight).toBe(0);

    // A wait is bounded in time: the waiter is refused, not started, and holds no slot.
    const short = sheddingInterceptor({ limiter, eventLoopGuard: false, queue: { maxWaitMs: 20 } })(next as never);
    const holder = short(request());
    await expect(short(request())).rejects.toMatchObject({ code: Code.ResourceExhausted });
    expect(started).toEqual([1, 2, 3, 4]);
    finish.shift()!();
    await holder;
    expect(limiter.inFlight).toBe(0);
  });

  it("holds a call over the event-loop guard's turn budget until a later turn instead of refusing it", async () => {
    const verdicts: GuardVerdict[] = ["refuse"];
    const guard: EventLoopGuard = { admit: () => verdicts.shift() ?? "run", record: () => {}, shedding: true, refused: 0, turnBudgetMs: 4, costMs: 0 };
    const limiter = createConcurrencyLimiter({ initialLimit: 10 });
    const handle = sheddingInterceptor({ limiter, eventLoopGuard: guard })((async () => ({}) as UnaryResponse) as never);
    await expect(handle(request())).resolves.toBeDefined();
    expect(limiter.inFlight).toBe(0);
  });

  it("paces refusals beyond a few per call served: they are held, so a closed loop cannot spin on them", async () => {
    const limiter = createConcurrencyLimiter({ initialLimit: 1, minLimit: 1, maxLimit: 1 });
    let finish: (() => void) | undefined;
    const next = () => new Promise<UnaryResponse>((resolve) => (finish = () => resolve({} as UnaryResponse)));
    const handle = sheddingInterceptor({ limiter, eventLoopGuard: false, queue: false, pacing: { refusalsPerStart: 1, burstRefusals: 1, holdMs: 50 } })(next as never);
    const first = handle(request());
    // One refusal per call started goes at once; the next is held for holdMs, then refused all the same.
    await expect(handle(request())).rejects.toMatchObject({ code: Code.ResourceExhausted });
    let settled = false;
    const held = handle(request()).catch((e: unknown) => {
      settled = true;
      throw e;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
    await expect(held).rejects.toMatchObject({ code: Code.ResourceExhausted });
    finish!();
    await first;
    expect(limiter.inFlight).toBe(0);
  });

  it("bounds a wait by a share of the call's deadline, and ends it when the caller cancels", async () => {
    const limiter = createConcurrencyLimiter({ initialLimit: 1, minLimit: 1, maxLimit: 1 });
    let finish: (() => void) | undefined;
    const next = () => new Promise<UnaryResponse>((resolve) => (finish = () => resolve({} as UnaryResponse)));
    const handle = sheddingInterceptor({ limiter, eventLoopGuard: false, pacing: false, queue: { maxWaitMs: 60_000, deadlineShare: 0.25 } })(next as never);
    const holder = handle(request());
    // 200 ms of deadline: refused after a quarter of it, not after maxWaitMs.
    const withDeadline = { ...request(), header: new Headers({ "connect-timeout-ms": "200" }) } as UnaryRequest;
    const t0 = performance.now();
    await expect(handle(withDeadline)).rejects.toMatchObject({ code: Code.ResourceExhausted });
    expect(performance.now() - t0).toBeLessThan(10_000);
    // A cancelled caller stops waiting at once.
    const abort = new AbortController();
    const cancelled = handle({ ...request(), signal: abort.signal } as UnaryRequest);
    abort.abort();
    await expect(cancelled).rejects.toMatchObject({ code: Code.ResourceExhausted });
    finish!();
    await holder;
    expect(limiter.inFlight).toBe(0);
  });
});
