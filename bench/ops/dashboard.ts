// How the dashboard's topology copes with a large mesh: N simulated instances (one service each, each
// called by three others, so N nodes and 3N edges) answer an aggregator behind a Weft host's admin API;
// `weft dash` serves the page and headless Chromium follows WatchMesh for a while. Reports the topology
// redraw time per snapshot (p50/p95/max), long tasks, frames per second, layout runs (1 = stable), and
// the CPU of this process (aggregator + admin API streaming the snapshots with series) per instance.
// Usage: node bench/ops/dashboard.ts [--instances 50] [--seconds 15]

import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium } from "playwright-core";
import { numberSetting, readCommandLine } from "../../mesh/errors/index.ts";
import { createHost, silentLogger } from "../../mesh/host/index.ts";
import { connectNats } from "../../mesh/node/index.ts";
import { createMeshAggregator } from "../../mesh/ops/index.ts";

const { values } = readCommandLine({
  usage: "npm run bench:dash -- [flags]   (node bench/ops/dashboard.ts)",
  summary: "The dashboard's topology under N simulated instances: redraw time, long tasks, frames, and the aggregator's CPU per instance.",
  flags: {
    instances: { type: "string", valueName: "N", default: "50", description: "simulated instances (one service each, three callers each)" },
    seconds: { type: "string", valueName: "S", default: "15", description: "measured seconds" },
    json: { type: "boolean", default: false, description: "print the result as JSON" },
  },
  env: [
    { name: "NATS_URL", defaultText: "nats://127.0.0.1:4222", description: "the NATS server to gather through" },
    { name: "CHROMIUM_PATH", defaultText: "/usr/bin/chromium", description: "the Chromium to drive (Debian's package)" },
  ],
});
const instances = numberSetting("--instances", values.instances, 50, { min: 1, integer: true });
const seconds = numberSetting("--seconds", values.seconds, 15, { min: 1 });
const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const root = new URL("../../", import.meta.url).pathname;

const prefix = `weft.benchdash${randomUUID().slice(0, 8)}.registry`;
const sim = spawn(process.execPath, [new URL("./simulated-instances.ts", import.meta.url).pathname, JSON.stringify({ instances, prefix, services: instances, meshCallers: true, methods: 3, calls: 10 })], {
  env: { ...process.env, NATS_URL: natsUrl },
  stdio: ["ignore", "pipe", "inherit"],
});
let simOut = "";
sim.stdout!.on("data", (c: Buffer) => (simOut += c.toString()));
while (!simOut.includes("READY")) await sleep(50);

const nc = await connectNats({ servers: natsUrl, name: "weft-bench-dashboard" });
const aggregator = createMeshAggregator({ nc, instanceId: "bench-dash", registryPrefix: prefix });
const host = createHost({ port: 0, logger: silentLogger, admin: { mesh: (request, signal) => aggregator.snapshot(request, signal) } });
const { url: meshUrl } = await host.listen();

const dash = spawn(process.execPath, [new URL("../../bin/weft.js", import.meta.url).pathname, "dash", "--url", meshUrl, "--json"], { cwd: root, env: { ...process.env, NATS_URL: "", WEFT_URL: "" }, stdio: ["ignore", "pipe", "inherit"] });
let dashOut = "";
dash.stdout!.on("data", (c: Buffer) => (dashOut += c.toString()));
while (!dashOut.includes("\n")) await sleep(50);
const pageUrl = (JSON.parse(dashOut.split("\n")[0]) as { url: string }).url;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"] });
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
await page.goto(pageUrl);
await page.waitForFunction((n) => Number(document.getElementById("graph")?.dataset.nodes ?? 0) >= n, instances, { timeout: 60_000 });
await sleep(2000); // the first layout and chunk loads settle
await page.evaluate(() => {
  const w = window as unknown as { benchLongTasks: number[]; benchFrames: number };
  w.benchLongTasks = [];
  w.benchFrames = 0;
  performance.clearMeasures("weft-topology-update");
  new PerformanceObserver((list) => list.getEntries().forEach((e) => w.benchLongTasks.push(e.duration))).observe({ type: "longtask" });
  const frame = () => {
    w.benchFrames++;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
});
const layoutsBefore = Number(await page.locator("#graph").getAttribute("data-layouts"));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await sleep(seconds * 1000);
const used = process.cpuUsage(cpu0);
const elapsedS = (performance.now() - t0) / 1000;
const inPage = await page.evaluate(() => {
  const w = window as unknown as { benchLongTasks: number[]; benchFrames: number };
  return { updates: performance.getEntriesByName("weft-topology-update").map((e) => e.duration), longTasks: w.benchLongTasks, frames: w.benchFrames };
});
const layoutsAfter = Number(await page.locator("#graph").getAttribute("data-layouts"));
const nodes = Number(await page.locator("#graph").getAttribute("data-nodes"));
const edges = Number(await page.locator("#graph").getAttribute("data-edges"));
await page.screenshot({ path: `${root}test-artifacts/dashboard-${instances}-instances.png` }).catch(() => undefined);

await browser.close();
dash.kill("SIGINT");
aggregator.close();
await host.close();
await nc.close();
sim.kill("SIGTERM");

const sorted = [...inPage.updates].sort((a, b) => a - b);
const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
const round = (n: number) => Math.round(n * 100) / 100;
const cpuMsPerS = (used.user + used.system) / 1000 / elapsedS;
const result = {
  instances,
  nodes,
  edges,
  snapshotsDrawn: sorted.length,
  redrawMs: { p50: round(at(0.5)), p95: round(at(0.95)), max: round(at(1)) },
  longTasks: inPage.longTasks.length,
  longestTaskMs: round(Math.max(0, ...inPage.longTasks)),
  framesPerSecond: round(inPage.frames / elapsedS),
  layoutRunsWhileMeasured: layoutsAfter - layoutsBefore,
  aggregatorAndAdminCpuMsPerS: round(cpuMsPerS),
  aggregatorAndAdminCpuMsPerSPerInstance: round(cpuMsPerS / instances),
};
if (values.json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`dashboard topology, ${instances} simulated instances (${nodes} nodes, ${edges} edges), ${seconds} s measured, WatchMesh with series over 5 min`);
  console.log(`  redraw per snapshot: p50 ${result.redrawMs.p50} ms, p95 ${result.redrawMs.p95} ms, max ${result.redrawMs.max} ms (${result.snapshotsDrawn} snapshots)`);
  console.log(`  long tasks (> 50 ms): ${result.longTasks} (longest ${result.longestTaskMs} ms); ${result.framesPerSecond} frames/s; layout runs while measured: ${result.layoutRunsWhileMeasured}`);
  console.log(`  aggregator + admin API CPU: ${result.aggregatorAndAdminCpuMsPerS} ms/s (${result.aggregatorAndAdminCpuMsPerSPerInstance} per instance)`);
}
