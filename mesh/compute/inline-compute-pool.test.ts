import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createInlineComputePool } from "./inline-compute-pool.ts";

const tasks = new URL("../../test/support/compute-tasks.ts", import.meta.url).href;

describe("createInlineComputePool", () => {
  it("runs a module export in-process with copied input and output", async () => {
    const pool = createInlineComputePool();
    expect(await pool.run<number>(tasks, "add", { a: 2, b: 3 })).toBe(5);
    expect(await pool.run<string>(tasks, "scrypt", { password: "pw", salt: "s" })).toMatch(/^[0-9a-f]{64}$/);
    await pool.close();
  });

  it("answers Canceled / DeadlineExceeded when the signal aborts, before or during a task", async () => {
    const pool = createInlineComputePool();
    const controller = new AbortController();
    controller.abort();
    await expect(pool.run(tasks, "add", { a: 1, b: 1 }, { signal: controller.signal })).rejects.toMatchObject({
      code: Code.Canceled,
    });
    const started = Date.now();
    await expect(pool.run(tasks, "sleep", { ms: 1_000 }, { signal: AbortSignal.timeout(20) })).rejects.toMatchObject({
      code: Code.DeadlineExceeded,
    });
    expect(Date.now() - started).toBeLessThan(500);
    await pool.close();
  });

  it("answers Internal for a task's error (kept as cause) and rejects bad task references", async () => {
    const pool = createInlineComputePool();
    const err = await pool.run(tasks, "fail", { message: "boom" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Code.Internal, rawMessage: "compute task failed" });
    expect((err as Error).cause).toMatchObject({ message: "boom" });
    await expect(pool.run(tasks, "missing", {})).rejects.toMatchObject({ code: Code.Internal });
    await expect(pool.run("tasks.ts", "add", {})).rejects.toThrow("moduleUrl");
    await pool.close();
    await expect(pool.run(tasks, "add", { a: 1, b: 1 })).rejects.toMatchObject({ code: Code.Unavailable });
  });
});
