// One measurement of bench:footprint: a fresh process (the service flags) imports one module and
// prints what it costs after two full collections, as one JSON line. `none` imports nothing (Node itself).
// Usage: node --expose-gc bench/footprint/import-probe.ts <module specifier | none>

import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { processMemory } from "../lib/process-memory.ts";

const spec = process.argv[2];
if (spec === undefined) throw new Error("usage: node --expose-gc bench/footprint/import-probe.ts <module | none>");
const gc = globalThis.gc;
if (gc === undefined) throw new Error("run with --expose-gc");

if (spec !== "none") await import(spec.startsWith(".") ? pathToFileURL(spec).href : spec);
// Timers and lazy initialisation that a module starts on import get to run before measuring.
await sleep(300);
gc();
gc();
const m = process.memoryUsage();
const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
console.log(JSON.stringify({ spec, heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external), ...processMemory() }));
// Whatever the module left running (sockets, timers), the probe is done.
process.exit(0);
