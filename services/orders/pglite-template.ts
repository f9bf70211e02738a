// An in-memory PGlite starts from a saved copy of a fresh data directory instead of running initdb.
// initdb in WebAssembly takes 2.5-3.6 s of main-thread CPU and leaves 520-800 MB resident; loading the
// 4.5 MB gzipped copy takes ~0.8 s and leaves 350-410 MB. The first start saves the copy, keyed by
// PGlite's version, under the temporary directory (like Node's compile cache); later starts load it.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";

/**
 * PostgreSQL settings of every PGlite: a buffer pool of 16 MB, not the default 128, which took about
 * 100 MB of resident memory from the start. The shop's orders are small, and PGlite's data files are in
 * this process's memory (or the OS's page cache), so a page missing from the pool costs a copy.
 */
export const PGLITE_SETTINGS: readonly string[] = ["shared_buffers = 16MB"];

/** Where the copy of a fresh data directory of this PGlite version lives. */
export function pgliteTemplatePath(dir: string = join(tmpdir(), "weft-pglite")): string {
  const packageJson = fileURLToPath(new URL("../package.json", import.meta.resolve("@electric-sql/pglite")));
  const { version } = JSON.parse(readFileSync(packageJson, "utf8")) as { version: string };
  return join(dir, `initdb-${version}.tar.gz`);
}

/**
 * A PGlite in memory, loaded from the template at `templatePath` when there is one; otherwise initdb runs
 * and its result is saved there (written aside, then renamed, so a process starting meanwhile never reads
 * half a file). A template that cannot be read or loaded is replaced; one that cannot be saved is skipped.
 */
export async function createPgliteInMemory(templatePath: string = pgliteTemplatePath()): Promise<PGlite> {
  let template: Buffer | undefined;
  try {
    template = readFileSync(templatePath);
  } catch {
    // No template yet: initdb below.
  }
  if (template !== undefined) {
    try {
      return await PGlite.create("memory://", { loadDataDir: new Blob([new Uint8Array(template)]), postgresqlconf: [...PGLITE_SETTINGS] });
    } catch {
      // A damaged template: initdb below writes a new one.
    }
  }
  const db = await PGlite.create("memory://", { postgresqlconf: [...PGLITE_SETTINGS] });
  try {
    const fresh = Buffer.from(await (await db.dumpDataDir("gzip")).arrayBuffer());
    mkdirSync(join(templatePath, ".."), { recursive: true });
    const aside = `${templatePath}.${process.pid}.tmp`;
    writeFileSync(aside, fresh);
    renameSync(aside, templatePath);
  } catch {
    // A read-only or full temporary directory: this start works, the next runs initdb again.
  }
  return db;
}
