// A per-core speed probe: the same fixed piece of JavaScript work timed on the server core and on the
// load core. This machine's virtual CPUs have slow spells (for seconds to tens of seconds, on one core
// or both) that CPU accounting cannot see; a run whose probe is slow is measured on a slow core and is
// left out of the medians (see results.ts).
//
// The work is what servers and clients do: small objects, JSON, a Map, short-lived garbage. A serial
// integer loop (the first probe) stayed within 8.2-9.3 ms through spells that halved every benchmark's
// rate, because it hardly touches memory; this one took 38-41 ms normally and 50-74 ms in those spells,
// alongside the benchmarks' own swings (2026-12-02, 90 s on both cores of an idle machine).

import { LOAD_CORE, pinned, runToCompletion, SERVER_CORE } from "./processes.ts";

// Five timed repetitions after one untimed (JIT) pass; prints the median in ms.
const PROBE_SOURCE = `
const base = { id: "order-1", items: [1, 2, 3, 4], product: { name: "product-123", priceCents: 1999, tags: ["a", "b"] } };
const work = () => {
  let n = 0;
  for (let i = 0; i < 12000; i++) {
    const text = JSON.stringify({ ...base, i });
    const back = JSON.parse(text);
    const index = new Map([[i, back]]);
    n += back.items.length + text.length + index.size;
  }
  return n;
};
work();
const times = [];
for (let r = 0; r < 5; r++) { const t = performance.now(); globalThis.sink = work(); times.push(performance.now() - t); }
times.sort((a, b) => a - b);
console.log(times[2].toFixed(3));
`;

/** Milliseconds the probe loop took on each benchmark core (NaN where it could not run). */
export interface CoreSpeed {
  readonly serverMs: number;
  readonly loadMs: number;
}

async function probeCore(core: number): Promise<number> {
  const cmd = pinned(core, process.execPath, ["-e", PROBE_SOURCE]);
  const out = await runToCompletion(cmd.command, cmd.args, { timeoutMs: 10_000 });
  const ms = Number(out.stdout.trim());
  return out.code === 0 && Number.isFinite(ms) ? ms : Number.NaN;
}

/** Times the probe on the server core, then on the load core (one after the other: they must not compete). */
export async function probeCores(): Promise<CoreSpeed> {
  const serverMs = await probeCore(SERVER_CORE);
  const loadMs = await probeCore(LOAD_CORE);
  return { serverMs, loadMs };
}
