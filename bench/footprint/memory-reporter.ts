// Loaded into every process of the shop that bench:footprint measures (NODE_OPTIONS=--import): on
// SIGUSR2 it writes V8's own view of the process's memory to <WEFT_FOOTPRINT_REPORT_DIR>/<pid>.json,
// so the report can split resident memory into V8's heap spaces and what lies outside them (malloc).
// It allocates nothing until asked and keeps nothing alive (signal handles do not hold the event loop).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from "node:v8";

/** V8's view of a process's memory, in MB. */
export interface V8MemoryReport {
  readonly pid: number;
  /** Committed and resident size of each heap space (new_space is the young generation's semi-spaces). */
  readonly spaces: Readonly<Record<string, { readonly committedMb: number; readonly usedMb: number }>>;
  /** Pages of every space that are resident. */
  readonly heapPhysicalMb: number;
  /** Memory V8 itself allocated with malloc (not the JavaScript heap). */
  readonly v8MallocedMb: number;
  /** ArrayBuffer and Buffer backing stores (malloc'ed by Node). */
  readonly arrayBuffersMb: number;
}

// V8 flags to try on the shop's processes without changing how they are launched (those V8 reads at run
// time: GC tracing and heuristics; heap sizes are fixed at start and need the command line).
for (const flag of (process.env.WEFT_FOOTPRINT_V8_FLAGS ?? "").split(" ").filter((f) => f !== "")) setFlagsFromString(flag);

const dir = process.env.WEFT_FOOTPRINT_REPORT_DIR;
if (dir !== undefined && dir !== "") {
  process.on("SIGUSR2", () => {
    const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
    const heap = getHeapStatistics();
    const report: V8MemoryReport = {
      pid: process.pid,
      spaces: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { committedMb: mb(s.space_size), usedMb: mb(s.space_used_size) }])),
      heapPhysicalMb: mb(heap.total_physical_size),
      v8MallocedMb: mb(heap.malloced_memory),
      arrayBuffersMb: mb(process.memoryUsage().arrayBuffers),
    };
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(report));
  });
}
