// Waits for Redis pub/sub subscribers instead of sleeping: a message published before a subscriber is
// connected is lost for good, so a test that sleeps and guesses can miss an invalidation forever.

import type { Redis } from "ioredis";

/** Resolves once `channel` has at least `count` subscribers (PUBSUB NUMSUB), polling every 10 ms. */
export async function waitForSubscribers(redis: Redis, channel: string, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [, subscribers] = (await redis.pubsub("NUMSUB", channel)) as [string, number];
    if (Number(subscribers) >= count) return;
    if (Date.now() > deadline) throw new Error(`${channel}: ${subscribers} of ${count} subscribers after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
