// bench:footprint checks itself: a quick run measures Node alone and two modules in fresh processes and
// reports each module's cost as a difference that a module which loads code must show.

import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { memoryRegions, processMemory } from "../lib/process-memory.ts";

const run = promisify(execFile);
const outDir = mkdtempSync(join(tmpdir(), "weft-bench-footprint-test-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

interface Probe { spec: string; heapUsedMb: number; rssMb: number; pssMb: number; privateMb: number }

describe("npm run bench:footprint -- --quick", () => {
  it("measures Node alone and each module in a fresh process, and reports the difference", { timeout: 60_000 }, async () => {
    const { stdout } = await run(process.execPath, [fileURLToPath(new URL("./run.ts", import.meta.url)), "--quick", "--out", outDir], { timeout: 55_000 });
    const file = readdirSync(outDir).find((f) => f.startsWith("footprint-") && f.endsWith(".json"));
    const results = JSON.parse(readFileSync(join(outDir, file!), "utf8")) as { base: Probe; modules: Probe[] };
    expect(results.modules.map((m) => m.spec)).toEqual(["@bufbuild/protobuf", "./mesh/codec/index.ts"]);
    for (const m of [results.base, ...results.modules]) {
      // Private memory is part of PSS, which is part of RSS.
      expect(m.privateMb).toBeGreaterThan(0);
      expect(m.privateMb).toBeLessThanOrEqual(m.pssMb);
      expect(m.pssMb).toBeLessThanOrEqual(m.rssMb);
    }
    // The codec imports the Protobuf runtime and more: it cannot cost less heap than Node alone or the runtime.
    const [protobuf, codec] = results.modules;
    expect(protobuf!.heapUsedMb).toBeGreaterThan(results.base.heapUsedMb);
    expect(codec!.heapUsedMb).toBeGreaterThan(protobuf!.heapUsedMb);
    expect(stdout).toContain("| `./mesh/codec/index.ts` | mesh: codec |");
  });

  it("reads this process's memory from /proc", () => {
    const own = processMemory();
    expect(own!.rssMb).toBeGreaterThan(own!.privateMb);
    expect(processMemory(2 ** 22 + 12345)).toBeUndefined();
    // The regions split the same resident memory: together they are the RSS (read a moment apart).
    const regions = memoryRegions()!;
    const total = regions.mallocHeapMb + regions.anonymousMb + regions.fileMb + regions.stackMb;
    expect(regions.anonymousMb).toBeGreaterThan(0);
    expect(regions.fileMb).toBeGreaterThan(0);
    expect(Math.abs(total - processMemory()!.rssMb)).toBeLessThan(own!.rssMb * 0.1);
    expect(memoryRegions(2 ** 22 + 12345)).toBeUndefined();
  });
});
