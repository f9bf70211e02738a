// The in-memory PGlite's saved fresh data directory: the first open writes it, later opens start from it
// (and their databases are separate), a damaged one is replaced, and an unwritable place only costs time.

import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, describe, expect, it } from "vitest";
import { createPgliteClient, migrateOrders, schemaVersion } from "./index.ts";
import { pgliteTemplatePath } from "./pglite-template.ts";

const dir = mkdtempSync(join(tmpdir(), "weft-pglite-template-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("PGlite in memory starts from a saved fresh data directory", () => {
  it("writes it on the first open; a second open loads it and is a separate, empty database", { timeout: 90_000 }, async () => {
    const templatePath = pgliteTemplatePath(dir);
    expect(templatePath).toMatch(/initdb-\d+\.\d+\.\d+\.tar\.gz$/);
    const first = await createPgliteClient({ templatePath });
    const saved = statSync(templatePath);
    expect(saved.size).toBeGreaterThan(100_000);
    await migrateOrders(first);
    await first.query("INSERT INTO outbox (id, type, payload) VALUES ('only-in-first', 't', '\\x00')");

    const second = await createPgliteClient({ templatePath });
    expect(statSync(templatePath).mtimeMs).toBe(saved.mtimeMs);
    // Both the fresh database and the one from the template have the small buffer pool (PGLITE_SETTINGS).
    for (const db of [first, second]) expect(await db.query("SHOW shared_buffers")).toEqual([{ shared_buffers: "16MB" }]);
    expect(await schemaVersion(second)).toBe(0);
    await migrateOrders(second);
    expect(await second.query("SELECT id FROM outbox")).toEqual([]);
    await Promise.all([first.close(), second.close()]);
  });

  it("loads what the template holds (not a new initdb)", { timeout: 90_000 }, async () => {
    const marked = await PGlite.create("memory://");
    await marked.exec("CREATE TABLE from_template (n int); INSERT INTO from_template VALUES (7)");
    const templatePath = join(dir, "marked.tar.gz");
    writeFileSync(templatePath, Buffer.from(await (await marked.dumpDataDir("gzip")).arrayBuffer()));
    await marked.close();
    const db = await createPgliteClient({ templatePath });
    expect(await db.query("SELECT n FROM from_template")).toEqual([{ n: 7 }]);
    await db.close();
  });

  it("replaces a damaged template, and opens without one where it cannot be written", { timeout: 90_000 }, async () => {
    const templatePath = join(dir, "damaged.tar.gz");
    writeFileSync(templatePath, "not a tarball");
    const db = await createPgliteClient({ templatePath });
    expect(await db.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    expect(readFileSync(templatePath).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip
    await db.close();

    const readOnly = join(dir, "read-only");
    rmSync(readOnly, { recursive: true, force: true });
    writeFileSync(readOnly, ""); // a file where the folder should be: nothing can be saved under it
    chmodSync(readOnly, 0o444);
    const unsaved = await createPgliteClient({ templatePath: join(readOnly, "initdb.tar.gz") });
    expect(await unsaved.query("SELECT 2 AS two")).toEqual([{ two: 2 }]);
    await unsaved.close();
  });
});
