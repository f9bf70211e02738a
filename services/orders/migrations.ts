import type { SqlClient } from "./sql-client.ts";

/** One schema change; `version`s are consecutive from 1 and never edited once released. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The orders schema, oldest first. */
export const ORDERS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "orders",
    sql: `
      CREATE TABLE orders (
        id text PRIMARY KEY,
        user_id text NOT NULL,
        status smallint NOT NULL,
        total_cents bigint NOT NULL,
        items jsonb NOT NULL,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX orders_by_user ON orders (user_id, created_at DESC, id DESC);
    `,
  },
  {
    version: 2,
    name: "outbox and idempotency keys",
    sql: `
      ALTER TABLE orders ADD COLUMN idempotency_key text;
      ALTER TABLE orders ADD CONSTRAINT orders_idempotency_key UNIQUE (user_id, idempotency_key);
      CREATE TABLE outbox (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        type text NOT NULL,
        payload bytea NOT NULL,
        traceparent text,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      );
      CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
    `,
  },
];

/** Key of the advisory lock that serialises migrations across replicas ("weft-ord" as 8 bytes). */
const MIGRATION_LOCK_KEY = "8603130716440571492";

/** Options of {@link migrateOrders}. */
export interface MigrateOptions {
  /** Stop after this version (tests of upgrades from an older schema). Default: the newest. */
  readonly toVersion?: number;
  /** The migrations. Default {@link ORDERS_MIGRATIONS}. */
  readonly migrations?: readonly Migration[];
}

/**
 * Brings the schema up to date in one transaction under a transaction-scoped advisory lock, so replicas
 * starting together wait for each other and apply each migration once (PostgreSQL DDL is transactional:
 * a failed migration leaves nothing behind). Returns the versions this call applied.
 */
export async function migrateOrders(db: SqlClient, options: MigrateOptions = {}): Promise<number[]> {
  const migrations = options.migrations ?? ORDERS_MIGRATIONS;
  const toVersion = options.toVersion ?? migrations.length;
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
    await tx.query(`CREATE TABLE IF NOT EXISTS weft_schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const rows = await tx.query<{ version: number }>("SELECT version FROM weft_schema_migrations");
    const applied = new Set(rows.map((row) => row.version));
    const done: number[] = [];
    for (const migration of migrations) {
      if (migration.version > toVersion || applied.has(migration.version)) continue;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query("INSERT INTO weft_schema_migrations (version, name) VALUES ($1, $2)", [migration.version, migration.name]);
      done.push(migration.version);
    }
    return done;
  });
}

/** The schema's version: the newest applied migration, 0 for an empty database. */
export async function schemaVersion(db: SqlClient): Promise<number> {
  const [table] = await db.query<{ name: string | null }>("SELECT to_regclass('weft_schema_migrations')::text AS name");
  if (!table?.name) return 0;
  const [row] = await db.query<{ version: number | null }>("SELECT max(version) AS version FROM weft_schema_migrations");
  return row?.version ?? 0;
}

// Migrations hold no semicolons inside literals, so `;` ends a statement (one statement per query keeps
// both drivers on the extended protocol).
function splitStatements(sql: string): string[] {
  return sql.split(";").map((s) => s.trim()).filter((s) => s.length > 0);
}
