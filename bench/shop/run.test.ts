// bench:shop checks itself: a quick run must start every system (raw node:http, the raw single process and composite, npm start, the
// distributed shop, the fastify + grpc-js peer), drive each of the shop's calls with every response
// verified, and write rows and per-process memory to its JSON.

import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SHOP_SERVICES } from "../../services/manifest.ts";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const outDir = mkdtempSync(join(tmpdir(), "weft-bench-shop-test-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

interface ShopResults {
  rows: { system: string; call: string; verified: number; requests: number; ok: boolean }[];
  memory: Record<string, { idle: Record<string, number | undefined> }>;
  failures: string[];
}

describe("npm run bench:shop -- --quick", () => {
  it("writes verified rows for every system and call, and each process's memory", { timeout: 150_000 }, async () => {
    // A failed run exits 1; its report (stdout) says which system and call, so the test shows it.
    const done = await run(process.execPath, [fileURLToPath(new URL("./run.ts", import.meta.url)), "--quick", "--out", outDir], { timeout: 140_000 }).catch((err: { stdout?: string; stderr?: string }) => err);
    expect(readdirSync(outDir), `${done.stdout ?? ""}\n${done.stderr ?? ""}`.slice(-3000)).not.toEqual([]);
    const file = readdirSync(outDir).find((f) => f.startsWith("shop-") && f.endsWith(".json"));
    const results = JSON.parse(readFileSync(join(outDir, file!), "utf8")) as ShopResults;
    expect(results.failures).toEqual([]);
    const expected = ["raw-http/json", "raw-single/browse", "raw-single/details", "raw-composite/browse", "raw-composite/details", ...["weft-start", "weft-distributed", "peer"].flatMap((s) => ["browse", "details", "checkout"].map((c) => `${s}/${c}`))];
    expect(results.rows.map((r) => `${r.system}/${r.call}`)).toEqual(expected);
    for (const row of results.rows) {
      expect(row.ok, `${row.system}/${row.call}`).toBe(true);
      expect(row.verified, `${row.system}/${row.call}`).toBeGreaterThan(0);
    }
    // One process per shop service in distributed mode, three in the peer, each with a resident size.
    expect(Object.keys(results.memory["weft-distributed"]!.idle)).toHaveLength(SHOP_SERVICES.length);
    expect(Object.keys(results.memory.peer!.idle)).toHaveLength(3);
    expect(Object.keys(results.memory["raw-composite"]!.idle)).toHaveLength(3);
    for (const m of Object.values(results.memory)) for (const mb of Object.values(m.idle)) expect(mb).toBeGreaterThan(0);
  });
});
