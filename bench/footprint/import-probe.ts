// One measurement of bench:footprint: a fresh process (the service flags) imports one module and
// prints what it costs after two full collections, and how long its import took, as one JSON line. `none` imports nothing (Node itself).
// Usage: node --expose-gc bench/footprint/import-probe.ts <module specifier | none>

import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { processMemory } from "../lib/process-memory.ts";

const spec = process.argv[2];
if (spec === undefined) throw new Error("usage: node --expose-gc bench/footprint/import-probe.ts <module | none>");
const gc = globalThis.gc;
if (gc === undefined) throw new Error("run with --expose-gc");

const t0 = performance.now();
if (spec !== "none") await import(spec.startsWith(".") ? pathToFileURL(spec).href : spec);
// Loading, compiling (from the compile cache when warm) and evaluating the module and what it imports.
const importMs = Math.round((performance.now() - t0) * 10) / 10;
// Timers and lazy initialisation that a module starts on import get to run before measuring.
await sleep(300);
gc();
gc();
const m = process.memoryUsage();
const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
console.log(JSON.stringify({ spec, importMs, heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external), ...processMemory() }));
// Whatever the module left running (sockets, timers), the probe is done.
process.exit(0);
