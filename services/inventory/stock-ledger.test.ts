import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeKinds } from "../../test/support/shop/store-kinds.ts";
import { connectRedis } from "../../test/support/shop/test-redis.ts";

let redis: Redis;
const { ledgers: kinds, cleanup } = storeKinds(() => redis);
beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  await cleanup();
  await redis.quit();
});

async function codeOf(promise: Promise<unknown>): Promise<Code | undefined> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ConnectError) return err.code;
    throw err;
  }
  return undefined;
}

// One behaviour suite, run against every implementation of the StockLedger contract.
describe.each(kinds)("stock ledger ($name)", ({ make }) => {
  it("reserves all lines or none", async () => {
    const ledger = await make([["a", 5], ["b", 1]]);
    expect(await codeOf(ledger.reserve("r1", [{ productId: "a", quantity: 2 }, { productId: "b", quantity: 2 }]))).toBe(Code.FailedPrecondition);
    expect(await ledger.levels(["a"])).toEqual([{ productId: "a", available: 5n, reserved: 0n }]);
    expect(await codeOf(ledger.reserve("r2", [{ productId: "a", quantity: 1 }, { productId: "zz", quantity: 1 }]))).toBe(Code.NotFound);
    expect((await ledger.levels(["a", "zz"]))).toEqual([{ productId: "a", available: 5n, reserved: 0n }, undefined]);
    const outcome = await ledger.reserve("r3", [
      { productId: "a", quantity: 2 },
      { productId: "b", quantity: 1 },
      { productId: "a", quantity: 1 },
    ]);
    expect(outcome.levels).toEqual([
      { productId: "a", available: 2n, reserved: 3n },
      { productId: "b", available: 0n, reserved: 1n },
    ]);
    expect(outcome.changes).toEqual([
      { productId: "a", available: 2n, delta: -3n },
      { productId: "b", available: 0n, delta: -1n },
    ]);
    expect([outcome.fresh, outcome.published]).toEqual([true, false]);
  });

  it("names the short product and how many were available", async () => {
    const ledger = await make([["a", 5], ["b", 1]]);
    const err = await ledger.reserve("r", [{ productId: "a", quantity: 1 }, { productId: "b", quantity: 3 }]).catch((e) => e);
    expect([err.code, err.rawMessage]).toEqual([Code.FailedPrecondition, "product b is out of stock: 3 requested, 1 available"]);
  });

  it("returns the first outcome for a repeated reservation id, ALREADY_EXISTS if the lines differ", async () => {
    const ledger = await make([["a", 10]]);
    const first = await ledger.reserve("order-1", [{ productId: "a", quantity: 4 }]);
    await ledger.restock("a", 1n);
    const again = await ledger.reserve("order-1", [{ productId: "a", quantity: 4 }]);
    expect([first.fresh, again.fresh, again.published]).toEqual([true, false, false]);
    expect(again.levels).toEqual(first.levels);
    expect(again.changes).toEqual(first.changes);
    await ledger.markPublished("order-1");
    expect((await ledger.reserve("order-1", [{ productId: "a", quantity: 4 }])).published).toBe(true);
    expect((await ledger.levels(["a"]))[0]?.available).toBe(7n);
    expect(await codeOf(ledger.reserve("order-1", [{ productId: "a", quantity: 5 }]))).toBe(Code.AlreadyExists);
  });

  it("releases once, restocks known products only, and never goes below zero", async () => {
    const ledger = await make([["a", 3]]);
    let taken = 0;
    for (let i = 0; i < 10; i++) {
      if ((await codeOf(ledger.reserve(`r${i}`, [{ productId: "a", quantity: 1 }]))) === undefined) taken++;
    }
    expect(taken).toBe(3);
    expect(await ledger.levels(["a"])).toEqual([{ productId: "a", available: 0n, reserved: 3n }]);
    expect(await ledger.release("r0")).toEqual({ released: true, changes: [{ productId: "a", available: 1n, delta: 1n }] });
    expect((await ledger.release("r0")).released).toBe(false);
    expect((await ledger.release("unknown")).released).toBe(false);
    expect(await ledger.restock("a", 5n)).toEqual({ productId: "a", available: 6n, reserved: 2n });
    expect(await codeOf(ledger.restock("zz", 1n))).toBe(Code.NotFound);
    // A released reservation is remembered: reserving it again returns the old outcome, takes nothing.
    const again = await ledger.reserve("r0", [{ productId: "a", quantity: 1 }]);
    expect(again.fresh).toBe(false);
    expect((await ledger.levels(["a"]))[0]).toEqual({ productId: "a", available: 6n, reserved: 2n });
  });

  it("refuses, with ABORTED, a reserve that arrives after its own release (the release leaves a tombstone)", async () => {
    const ledger = await make([["a", 3]]);
    expect((await ledger.release("late")).released).toBe(false);
    const err = await ledger.reserve("late", [{ productId: "a", quantity: 2 }]).catch((e) => e);
    expect([err.code, err.rawMessage]).toEqual([Code.Aborted, "reservation late was released before it was made"]);
    expect((await ledger.levels(["a"]))[0]).toEqual({ productId: "a", available: 3n, reserved: 0n });
    expect((await ledger.confirm("late")).status).toBe("unknown");
  });

  it("keeps confirmed reservations and expires pending ones after the TTL, giving their stock back", async () => {
    const ledger = await make([["a", 5], ["b", 5]], { reservationTtlMs: 150 });
    await ledger.reserve("kept", [{ productId: "a", quantity: 2 }]);
    await ledger.reserve("abandoned", [{ productId: "a", quantity: 1 }, { productId: "b", quantity: 3 }]);
    expect((await ledger.confirm("kept")).status).toBe("confirmed");
    expect((await ledger.confirm("kept")).status).toBe("already-confirmed");
    expect(await ledger.expireDue()).toEqual([]); // nothing is due yet
    await sleep(200);
    expect(await ledger.expireDue()).toEqual([
      {
        reservationId: "abandoned",
        changes: [
          { productId: "a", available: 3n, delta: 1n },
          { productId: "b", available: 5n, delta: 3n },
        ],
      },
    ]);
    expect(await ledger.expireDue()).toEqual([]);
    expect(await ledger.levels(["a", "b"])).toEqual([
      { productId: "a", available: 3n, reserved: 2n },
      { productId: "b", available: 5n, reserved: 0n },
    ]);
    // Expired is final for release and for a retried reserve (which returns the first outcome, taking nothing).
    expect((await ledger.release("abandoned")).released).toBe(false);
    expect((await ledger.reserve("abandoned", [{ productId: "a", quantity: 1 }, { productId: "b", quantity: 3 }])).fresh).toBe(false);
    expect((await ledger.levels(["b"]))[0]?.available).toBe(5n);
    // A confirmed reservation never expires; it is released as usual.
    expect((await ledger.release("kept")).released).toBe(true);
    expect((await ledger.confirm("kept")).status).toBe("released");
  });

  it("reclaims the stock of an order confirmed after its reservation expired, or reports it lost", async () => {
    const ledger = await make([["a", 2]], { reservationTtlMs: 50 });
    await ledger.reserve("slow-order", [{ productId: "a", quantity: 2 }]);
    await sleep(80);
    expect(await ledger.expireDue()).toHaveLength(1);
    expect(await ledger.confirm("slow-order")).toEqual({ status: "reclaimed", changes: [{ productId: "a", available: 0n, delta: -2n }] });
    expect((await ledger.levels(["a"]))[0]).toEqual({ productId: "a", available: 0n, reserved: 2n });
    await sleep(80);
    expect(await ledger.expireDue()).toEqual([]); // confirmed now

    await ledger.restock("a", 1n);
    await ledger.reserve("slower-order", [{ productId: "a", quantity: 1 }]);
    await sleep(80);
    expect(await ledger.expireDue()).toHaveLength(1);
    await ledger.reserve("someone-else", [{ productId: "a", quantity: 1 }]);
    expect((await ledger.confirm("slower-order")).status).toBe("lost");
    expect((await ledger.levels(["a"]))[0]).toEqual({ productId: "a", available: 0n, reserved: 3n });
  });

  it("never oversells under 300 concurrent reservations", async () => {
    const ledger = await make([["hot", 25], ["cold", 1000]]);
    const results = await Promise.allSettled(
      Array.from({ length: 300 }, (_, i) =>
        ledger.reserve(`order-${i}`, [{ productId: "hot", quantity: 1 + (i % 2) }, { productId: "cold", quantity: 1 }]),
      ),
    );
    for (const r of results) if (r.status === "rejected") expect(r.reason.code).toBe(Code.FailedPrecondition);
    const won = results.filter((r) => r.status === "fulfilled").length;
    const unitsTaken = results.reduce((sum, r, i) => sum + (r.status === "fulfilled" ? 1 + (i % 2) : 0), 0);
    expect(unitsTaken).toBeGreaterThanOrEqual(24);
    expect(await ledger.levels(["hot", "cold"])).toEqual([
      { productId: "hot", available: BigInt(25 - unitsTaken), reserved: BigInt(unitsTaken) },
      { productId: "cold", available: BigInt(1000 - won), reserved: BigInt(won) },
    ]);
  });
});

describe("Redis stock ledger replicaAcks", () => {
  it("acknowledges a change only once that many replicas hold it: the shared Redis has none, so it fails UNAVAILABLE after replicaWaitMs", async () => {
    const { createRedisStockLedger } = await import("./redis-stock-ledger.ts");
    const keyPrefix = `weft-test:replica-acks:${Date.now()}:`;
    const waiting = createRedisStockLedger({ redis, keyPrefix, replicaAcks: 1, replicaWaitMs: 50 });
    try {
      const err = await waiting.seedIfAbsent([["a", 1]]).catch((e: unknown) => e);
      expect([ConnectError.from(err).code, ConnectError.from(err).rawMessage]).toEqual([Code.Unavailable, "inventory store is unavailable"]);
      // Without it the same Redis acknowledges at once.
      await createRedisStockLedger({ redis, keyPrefix }).reserve("r1", [{ productId: "a", quantity: 1 }]);
    } finally {
      const keys = await redis.keys(`{${keyPrefix}}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
  });
});
