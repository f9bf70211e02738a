// Issue 12, rate limits across real gateway processes: three `services/gateway/main.ts` processes on one
// Redis (REDIS_URL, keys under a MESH_EVENTS_PREFIX of this run) share one sign-in allowance for a
// client address. Of many concurrent sign-ins spread over the three, exactly the bucket's burst plus
// what refilled during the burst (2 a second, measured on Redis's clock) get past the limit.

import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { retryDelayMs } from "../../mesh/ratelimit/index.ts";
import { redisClientOptions, waitForRedisReady } from "../../mesh/redis/index.ts";
import { createWeftGrpcTransport } from "../../mesh/transport/index.ts";
import { GATEWAY_RATE_BUCKETS } from "../../services/gateway/index.ts";
import { redisUrl } from "../support/servers.ts";
import { stop } from "./fixtures/processes.ts";

const GATEWAY_MAIN = new URL("../../services/gateway/main.ts", import.meta.url).pathname;
const procs: ChildProcess[] = [];
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await Promise.all(procs.map((p) => stop(p)));
});

/** Starts one gateway process and resolves with its address once it logs that it listens. */
function startGateway(env: Record<string, string>): Promise<string> {
  const proc = spawn(process.execPath, [GATEWAY_MAIN], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  procs.push(proc);
  proc.stderr!.resume();
  return new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`gateway not listening within 45 s:\n${buffered}`)), 45_000);
    proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const line = buffered.split("\n").find((l) => l.includes('"gateway listening"'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { address: string }).address);
      }
    });
    proc.once("exit", (code) => reject(new Error(`gateway exited with ${code}:\n${buffered}`)));
  });
}

describe("gateway rate limits across processes", () => {
  it("3 gateway processes on one Redis allow exactly burst + refill of 150 concurrent sign-ins", async () => {
    const run = randomUUID().slice(0, 8);
    const env = {
      REDIS_URL: redisUrl(), PORT: "0", LOG_LEVEL: "info",
      MESH_REGISTRY_PREFIX: `weft.trl${run}.registry`, MESH_RPC_PREFIX: `weft.trl${run}.rpc`, MESH_EVENTS_PREFIX: `trl${run}`,
    };
    const addresses = await Promise.all([1, 2, 3].map((i) => startGateway({ ...env, INSTANCE_ID: `gateway-rl-${run}-${i}` })));
    const clients = addresses.map((a) => createClient(GatewayService, createWeftGrpcTransport({ baseUrl: `http://${a}`, idleTimeoutMs: 0 })));
    const clock = new Redis(redisUrl(), redisClientOptions);
    cleanups.push(() => clock.disconnect());
    await waitForRedisReady(clock, { timeoutMs: 5_000 });
    const redisSeconds = async () => {
      const [s, us] = await clock.time();
      return Number(s) + Number(us) / 1e6;
    };

    const calls = 150;
    const started = await redisSeconds();
    // No identity runs: an admitted sign-in fails downstream (UNAVAILABLE or its deadline); only the
    // limit answers RESOURCE_EXHAUSTED.
    const results = await Promise.all(Array.from({ length: calls }, (_, i) =>
      clients[i % 3].signIn({ email: "rl@example.com", password: "x" }, { timeoutMs: 3_000 }).then(
        () => ({ code: undefined as Code | undefined, message: "", retryMs: undefined as number | undefined }),
        (e: unknown) => {
          const err = ConnectError.from(e);
          return { code: err.code as Code | undefined, message: err.rawMessage, retryMs: retryDelayMs(err) };
        },
      )));
    const elapsed = (await redisSeconds()) - started;
    // The sign-in lockout (5 attempts per account and address, also RESOURCE_EXHAUSTED) refuses inside
    // calls the rate limit admitted: count the rate limit's own refusals.
    const refused = results.filter((r) => r.code === Code.ResourceExhausted && r.message.startsWith("rate limit exceeded"));
    // A limiter call slower than its timeout (250 ms; a loaded machine) fails closed for sign-ins: not
    // admitted. Redis may still have run it, so each such call may have spent a token of the burst.
    const limiterDown = results.filter((r) => r.code === Code.Unavailable && r.message.startsWith("rate limit is unavailable")).length;
    const admitted = calls - refused.length - limiterDown;
    const { burst, ratePerSecond } = GATEWAY_RATE_BUCKETS.auth;
    const ceiling = burst + ratePerSecond * elapsed;
    console.log(`3 gateway processes: ${admitted} of ${calls} concurrent sign-ins admitted in ${elapsed.toFixed(3)} s (Redis clock), ${limiterDown} refused with the limiter unavailable; burst ${burst}, ceiling ${ceiling.toFixed(2)}`);
    expect(admitted).toBeGreaterThanOrEqual(burst - limiterDown);
    const outcomes = new Map<string, number>();
    for (const r of results) {
      const key = `${r.code === undefined ? "ok" : Code[r.code]}: ${r.message.slice(0, 60)}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    expect(admitted, JSON.stringify([...outcomes])).toBeLessThanOrEqual(Math.floor(ceiling));
    for (const r of refused) expect(r.retryMs).toBeGreaterThan(0);
  });
});
