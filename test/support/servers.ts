// Where the tests find the shared servers: NATS_URL, REDIS_URL and DATABASE_URL, read here and nowhere
// else, with the local development servers as defaults. Setting one moves every test file with it.

/** NATS (JetStream) of the tests: NATS_URL, default nats://127.0.0.1:4222. */
export function natsUrl(): string {
  return process.env.NATS_URL?.trim() || "nats://127.0.0.1:4222";
}

/** Redis of the tests: REDIS_URL, default redis://127.0.0.1:6379. */
export function redisUrl(): string {
  return process.env.REDIS_URL?.trim() || "redis://127.0.0.1:6379";
}

/** PostgreSQL of the tests: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/weft. */
export function databaseUrl(): string {
  return process.env.DATABASE_URL?.trim() || "postgres://postgres@127.0.0.1:5432/weft";
}
