import { afterAll, describe, expect, it } from "vitest";
import { createPiscinaComputePool } from "../../mesh/compute/index.ts";
import { hashPassword, PASSWORD_TASK_URL, type VerifyPasswordResult } from "./password-task.ts";

const pool = createPiscinaComputePool({ maxThreads: 1, minThreads: 0 });
afterAll(() => pool.close());

describe("password task on piscina worker threads", () => {
  it("hashes (Argon2id, OWASP cost) and verifies in a worker exactly as inline", async () => {
    const salt = new Uint8Array(16).fill(3);
    const encoded = await pool.run<string>(PASSWORD_TASK_URL, "hashPassword", { password: "worker-pass", salt });
    expect(encoded).toBe(hashPassword({ password: "worker-pass", salt }));
    expect(await pool.run<VerifyPasswordResult>(PASSWORD_TASK_URL, "verifyPassword", { password: "worker-pass", encoded })).toEqual({ ok: true, rehash: false });
    expect(await pool.run<VerifyPasswordResult>(PASSWORD_TASK_URL, "verifyPassword", { password: "worker-pasS", encoded })).toEqual({ ok: false, rehash: false });
  });
});
