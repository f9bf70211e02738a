import { Code, ConnectError, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createConcurrencyLimiter } from "./concurrency-limiter.ts";
import { createLoadSheddingInterceptor } from "./load-shedding.ts";
import { isRefusal, REFUSED_HEADER } from "./refusal.ts";

// Only what the interceptor reads of a request.
const request = (typeName = TestService.typeName) => ({ service: { typeName }, stream: false }) as unknown as UnaryRequest;

describe("load-shedding interceptor", () => {
  it("refuses beyond the limit with a marked RESOURCE_EXHAUSTED and releases when a call ends", async () => {
    const limiter = createConcurrencyLimiter({ initialLimit: 1, minLimit: 1, maxLimit: 1, eventLoopGuard: false });
    let finish: (() => void) | undefined;
    const next = () => new Promise<UnaryResponse>((resolve) => (finish = () => resolve({} as UnaryResponse)));
    const handle = createLoadSheddingInterceptor({ limiter })(next as never);
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
    const limiter = createConcurrencyLimiter({ initialLimit: 1, minLimit: 1, maxLimit: 1, eventLoopGuard: false });
    limiter.tryAcquire();
    const handle = createLoadSheddingInterceptor({ limiter })((async () => ({}) as UnaryResponse) as never);
    await expect(handle(request("grpc.health.v1.Health"))).resolves.toBeDefined();
    await expect(handle(request())).rejects.toThrow(/overloaded/);
  });
});
