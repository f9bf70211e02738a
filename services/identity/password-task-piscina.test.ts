import { afterAll, describe, expect, it } from "vitest";
import { createPiscinaComputePool } from "../../mesh/compute/index.ts";
import { hashPassword, PASSWORD_TASK_URL } from "./password-task.ts";

const pool = createPiscinaComputePool({ maxThreads: 1, minThreads: 0 });
afterAll(() => pool.close());

describe("password task on piscina worker threads", () => {
  it("hashes and verifies in a worker exactly as inline", async () => {
    const salt = new Uint8Array(16).fill(3);
    const encoded = await pool.run<string>(PASSWORD_TASK_URL, "hashPassword", { password: "worker-pass", salt, costLog2: 10 });
    expect(encoded).toBe(hashPassword({ password: "worker-pass", salt, costLog2: 10 }));
    expect(await pool.run<boolean>(PASSWORD_TASK_URL, "verifyPassword", { password: "worker-pass", encoded })).toBe(true);
    expect(await pool.run<boolean>(PASSWORD_TASK_URL, "verifyPassword", { password: "worker-pasS", encoded })).toBe(false);
  });
});
