import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createStockLedger } from "./stock-ledger.ts";

function codeOf(fn: () => unknown): Code | undefined {
  try {
    fn();
  } catch (err) {
    return (err as ConnectError).code;
  }
  return undefined;
}

describe("stock ledger", () => {
  it("reserves all lines or none", () => {
    const ledger = createStockLedger([["a", 5], ["b", 1]]);
    expect(codeOf(() => ledger.reserve("r1", [{ productId: "a", quantity: 2 }, { productId: "b", quantity: 2 }]))).toBe(
      Code.FailedPrecondition,
    );
    expect(ledger.level("a")).toEqual({ productId: "a", available: 5n, reserved: 0n });
    expect(codeOf(() => ledger.reserve("r2", [{ productId: "a", quantity: 1 }, { productId: "zz", quantity: 1 }]))).toBe(Code.NotFound);
    expect(ledger.level("a")?.available).toBe(5n);
    const outcome = ledger.reserve("r3", [{ productId: "a", quantity: 2 }, { productId: "b", quantity: 1 }, { productId: "a", quantity: 1 }]);
    expect(outcome.levels).toEqual([
      { productId: "a", available: 2n, reserved: 3n },
      { productId: "b", available: 0n, reserved: 1n },
    ]);
    expect(outcome.changes.map((c) => c.delta)).toEqual([-3n, -1n]);
  });

  it("returns the first outcome for a repeated reservation id, ALREADY_EXISTS if the lines differ", () => {
    const ledger = createStockLedger([["a", 10]]);
    const first = ledger.reserve("order-1", [{ productId: "a", quantity: 4 }]);
    const again = ledger.reserve("order-1", [{ productId: "a", quantity: 4 }]);
    expect(first.fresh).toBe(true);
    expect(again.fresh).toBe(false);
    expect(again.levels).toEqual(first.levels);
    expect(ledger.level("a")?.available).toBe(6n);
    expect(codeOf(() => ledger.reserve("order-1", [{ productId: "a", quantity: 5 }]))).toBe(Code.AlreadyExists);
  });

  it("releases once, restocks known products only, and never goes below zero", () => {
    const ledger = createStockLedger([["a", 3]]);
    let taken = 0;
    for (let i = 0; i < 10; i++) {
      if (codeOf(() => ledger.reserve(`r${i}`, [{ productId: "a", quantity: 1 }])) === undefined) taken++;
    }
    expect(taken).toBe(3);
    expect(ledger.level("a")).toEqual({ productId: "a", available: 0n, reserved: 3n });
    expect(ledger.release("r0")).toEqual({ released: true, changes: [{ productId: "a", available: 1n, delta: 1n }] });
    expect(ledger.release("r0").released).toBe(false);
    expect(ledger.release("unknown").released).toBe(false);
    expect(ledger.restock("a", 5n)).toEqual({ productId: "a", available: 6n, reserved: 2n });
    expect(codeOf(() => ledger.restock("zz", 1n))).toBe(Code.NotFound);
    expect(() => createStockLedger([["x", -1]])).toThrow(/must not be negative/);
  });
});
