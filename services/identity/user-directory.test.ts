import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserSchema } from "../../gen/shop/identity/v1/identity_pb.ts";
import { storeKinds } from "../../test/support/shop/store-kinds.ts";
import { connectRedis } from "../../test/support/shop/test-redis.ts";

let redis: Redis;
const { directories, cleanup } = storeKinds(() => redis);
beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  await cleanup();
  await redis.quit();
});

const record = (id: string, email: string) => ({
  user: create(UserSchema, { id, email, displayName: `User ${id}`, createdAt: timestampFromDate(new Date(1_700_000_000_000)) }),
  passwordHash: `scrypt$10$salt$${id}`,
});

// One behaviour suite, run against every implementation of the UserDirectory contract.
describe.each(directories)("user directory ($name)", ({ make }) => {
  it("finds a user by id and by email, case-insensitively, with the same record", async () => {
    const users = make();
    const ada = record("u-1", "ada@example.com");
    await users.add(ada);
    expect(await users.byId("u-1")).toEqual(ada);
    expect(await users.byEmail("  ADA@example.COM ")).toEqual(ada);
    expect(await users.byId("u-2")).toBeUndefined();
    expect(await users.byEmail("nobody@example.com")).toBeUndefined();
  });

  it("refuses a taken email or id with ALREADY_EXISTS, storing nothing", async () => {
    const users = make();
    await users.add(record("u-1", "ada@example.com"));
    const taken = await users.add(record("u-2", "ada@example.com")).catch((e: ConnectError) => e);
    expect([taken?.code, taken?.rawMessage]).toEqual([Code.AlreadyExists, "a user with email ada@example.com already exists"]);
    expect(await users.byId("u-2")).toBeUndefined();
    const sameId = await users.add(record("u-1", "other@example.com")).catch((e: ConnectError) => e);
    expect(sameId?.code).toBe(Code.AlreadyExists);
    expect(await users.byEmail("other@example.com")).toBeUndefined();
  });

  it("lets exactly one of 20 concurrent registrations of one email win", async () => {
    const users = make();
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => users.add(record(`racer-${i}`, "race@example.com"))));
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [`racer-${i}`] : []));
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason.code).toBe(Code.AlreadyExists);
    expect((await users.byEmail("race@example.com"))?.user.id).toBe(won[0]);
  });
});
