// Issue 19, item 5: SignUp probed by a stranger. A taken email costs the server the same work as a new
// account (one password hash on the compute pool, so the answer's timing does not tell them apart), and
// the weakest passwords ("password", eight spaces) are refused.
import type { ComputePool } from "../../mesh/compute/index.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InProcessShop } from "../../services/in-process-shop.ts";
import { createSlowableComputePool, startTestShop, uniqueEmail } from "./shop-fixture.ts";
import { TEST_PASSWORD_PARAMS } from "../support/shop/router-shop.ts";

/** The shop's real compute pool, counting the tasks it runs by name. */
function countingPool(inner: ComputePool, counts: Map<string, number>): ComputePool {
  return {
    run(moduleUrl, name, input, options) {
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return inner.run(moduleUrl, name, input, options);
    },
    close: () => inner.close(),
  };
}

const tasks = new Map<string, number>();
let shop: InProcessShop;
beforeAll(async () => {
  shop = await startTestShop({ compute: countingPool(createSlowableComputePool(), tasks), passwordParams: TEST_PASSWORD_PARAMS });
});
afterAll(() => shop?.close());

async function signUp(email: string, password: string): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${shop.url}/shop.gateway.v1.GatewayService/SignUp`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password, displayName: "Probe" }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** The compute tasks one call ran. */
async function tasksOf(call: () => Promise<unknown>): Promise<Record<string, number>> {
  tasks.clear();
  await call();
  return Object.fromEntries(tasks);
}

describe("SignUp under probing (issue 19, item 5)", () => {
  it("does the same work for a taken email as for a new one: one password hash, no verify", async () => {
    const email = uniqueEmail("taken");
    let first: Awaited<ReturnType<typeof signUp>> | undefined;
    expect(await tasksOf(async () => (first = await signUp(email, "wren-harbour-7")))).toEqual({ hashPassword: 1 });
    expect(first!.status).toBe(200);
    expect(typeof first!.body.accessToken).toBe("string");
    let again: Awaited<ReturnType<typeof signUp>> | undefined;
    expect(await tasksOf(async () => (again = await signUp(email.toUpperCase(), "other-harbour-8")))).toEqual({ hashPassword: 1 });
    expect(again!.body.code).toBe("already_exists");
  });

  it("refuses the most common passwords and blank ones before any hashing", async () => {
    for (const [password, message] of [
      ["password", "password: is one of the most common passwords; choose another"],
      ["12345678", "password: is one of the most common passwords; choose another"],
      [" ".repeat(8), "password: must not be only blanks [not_blank]"], // the contract's rule, with its violation detail
    ]) {
      let reply: Awaited<ReturnType<typeof signUp>> | undefined;
      expect(await tasksOf(async () => (reply = await signUp(uniqueEmail("weak"), password)))).toEqual({});
      expect([reply!.body.code, reply!.body.message]).toEqual(["invalid_argument", message]);
    }
  });
});
