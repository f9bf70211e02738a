// The packed order log: records round-trip, a snapshot stays valid while the log grows, and a snapshot
// crosses to another thread as shared memory (what a training task receives), not as a copy.
import { MessageChannel } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { createMemoryOrderLog } from "./order-log.ts";
import { createOrderColumns, packOrders, stringAt, unpackOrders } from "./packed-orders.ts";
import type { OrderRecord } from "./train-task.ts";

const records: OrderRecord[] = [
  { userId: "u-1", productIds: ["prod-0001", "prod-0002"], atMs: 1_700_000_000_123 },
  { userId: "ünïcødé-🙂", productIds: ["prod-0002", "prod-0002"], atMs: 1_700_000_000_000.5 },
  { userId: "u-1", productIds: [], atMs: 0 },
  { userId: "", productIds: ["prod-0003"], atMs: 1_700_000_001_000 },
];

describe("packed orders", () => {
  it("round-trips records, each distinct user and product stored once", () => {
    const packed = packOrders(records);
    expect(unpackOrders(packed)).toEqual(records);
    expect([packed.count, packed.users.count, packed.products.count]).toEqual([4, 3, 3]);
    expect(stringAt(packed.users, 1)).toBe("ünïcødé-🙂");
    expect(unpackOrders(packOrders([]))).toEqual([]);
  });

  it("keeps a snapshot as it was while the log grows past its capacity many times", () => {
    const columns = createOrderColumns();
    for (const record of records) columns.append(record);
    const early = columns.snapshot();
    const many = Array.from({ length: 5_000 }, (_, i) => ({ userId: `user-${i % 700}`, productIds: [`p-${i % 13}`, `p-${i % 29}`], atMs: i }));
    for (const record of many) columns.append(record);
    expect(unpackOrders(early)).toEqual(records);
    expect(unpackOrders(columns.snapshot())).toEqual([...records, ...many]);
    expect(columns.count).toBe(5_004);
  });

  it("crosses to another thread as shared memory: posting a snapshot copies no order", async () => {
    const log = createMemoryOrderLog();
    for (const [i, record] of records.entries()) await log.record(`e${i}`, record);
    expect(await log.record("e0", records[1]!)).toBe(false);
    const packed = await log.snapshot();
    expect(unpackOrders(packed)).toEqual(records);
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<typeof packed>((resolve) => port2.once("message", resolve));
    port1.postMessage(packed);
    const copy = await received;
    port1.close();
    for (const column of [copy.userIndex, copy.atMs, copy.itemStart, copy.productIndex, copy.users.bytes, copy.products.offsets]) {
      expect(column.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
    // One memory: what this side writes, the receiver reads (a copy would still read the old time).
    packed.atMs[0] = 42;
    expect(copy.atMs[0]).toBe(42);
  });
});
