// A PostgreSQL database of its own per test file on the shared server (DATABASE_URL), dropped afterwards,
// so files running at once never see each other's orders.

import { randomBytes } from "node:crypto";
import pg from "pg";
import { databaseUrl } from "../servers.ts";

/** A fresh database on the shared server. */
export interface TestDatabase {
  /** Its URL, e.g. postgres://postgres@127.0.0.1:5432/weft_orders_ab12cd34. */
  readonly url: string;
  readonly name: string;
  /** Drops it (ending any session still connected). */
  drop(): Promise<void>;
}

async function onServer<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates `weft_orders_<label>_<random>` on the shared server. */
export async function createTestDatabase(label = "t"): Promise<TestDatabase> {
  const name = `weft_orders_${label.replace(/[^a-z0-9]/gi, "").toLowerCase()}_${randomBytes(4).toString("hex")}`;
  await onServer((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(databaseUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => onServer((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}
