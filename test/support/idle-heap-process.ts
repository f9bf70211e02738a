// A process for mesh/host/idle-heap-release.test.ts: builds a heap as a load would (objects kept a while,
// then dropped), optionally keeps its event loop busy, and reports each release and its RSS as JSON lines.
import { watchIdleHeap } from "../../mesh/host/index.ts";

const mode = process.argv[2] ?? "load-then-idle"; // or "busy", "no-load" (and no start-up release), "idle-start"
const rssMb = () => Math.round(process.memoryUsage().rss / 1048576);
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

// Watching from the start, as a host does: the heap the load builds is growth over the start's.
const stop = watchIdleHeap({ windowMs: 200, quietWindows: 2, minGrowthBytes: 16 * 1024 * 1024, afterStart: mode !== "no-load", onRelease: (release) => print({ event: "released", ...release, rssMb: rssMb() }) });
if (mode === "load-then-idle" || mode === "busy") {
  let kept: object[] = [];
  for (let i = 0; i < 1_500_000; i++) {
    kept.push({ i, text: `item ${i}`, list: [i, i + 1] });
    if (kept.length > 600_000) kept = [];
  }
  kept = [];
}
print({ event: "loaded", rssMb: rssMb() });
// "busy": the loop works 30% of every 10 ms, as a process still serving calls would.
const busy = mode === "busy" ? setInterval(() => {
  const until = performance.now() + 3;
  while (performance.now() < until);
}, 10) : undefined;
// V8's memory reducer returns the pages some seconds after the release (it needs the low allocation rate
// the release's GC measured): wait for RSS to fall below half the loaded figure, at most 30 s.
const loadedMb = rssMb();
const started = performance.now();
const check = setInterval(() => {
  if (rssMb() > loadedMb / 2 && performance.now() - started < (mode === "load-then-idle" ? 30_000 : 2_000)) return;
  clearInterval(check);
  stop();
  clearInterval(busy);
  print({ event: "done", rssMb: rssMb() });
}, 250);
