// The distributed shop's part of bench:footprint's report (markdown lines): start-up phases per process,
// memory idle / after the load / idle again with the goal's ratio, and where the memory lies at each.

import type { CallLoad, MemoryReading, ShopProcess, SoloStart } from "./shop-under-load.ts";

/** The issue's goal: after the load, memory comes back within this factor of idle. */
export const SETTLED_RSS_GOAL = 1.2;

const ms = (v: unknown) => (typeof v === "number" ? String(Math.round(v)) : "-");

/** Markdown lines for the shop's processes. */
export function shopReport(measured: { processes: readonly ShopProcess[]; load: readonly CallLoad[]; solo: readonly SoloStart[] }, run: { idleWaitMs: number; loadSeconds: number; connections: number }): string[] {
  const { processes, load, solo } = measured;
  const label = (p: ShopProcess) => `${p.name} (${p.instanceId})`;
  const lines: string[] = [];

  // Start-up: the phases in the order the processes reported them.
  const phases = [...new Set([...processes, ...solo].flatMap((p) => Object.keys(p.startup ?? {})))];
  if (phases.length > 0) {
    lines.push(
      "Start-up, ms since the process started, from each process's \"listening\" log line: `readyMs` is listening and announced (goal <= 500), the others its phases (`importsMs`: from Node's bootstrap to startMeshNode, i.e. the import graph and the configuration reads). First every process of `npm run start:distributed` (mutual TLS, default instances) starting together, then one more instance of each service started alone while the shop idles.",
      "",
      `| process | ${phases.join(" | ")} |`,
      `|---|${phases.map(() => "---:").join("|")}|`,
      ...processes.map((p) => `| ${label(p)} | ${phases.map((k) => ms(p.startup?.[k])).join(" | ")} |`),
      ...solo.map((p) => `| ${p.name}, one more, alone | ${phases.map((k) => ms(p.startup?.[k])).join(" | ")} |`),
      "",
    );
  }

  const settled = processes[0]?.settled.map((s) => s.afterMs) ?? [];
  const last = (p: ShopProcess) => p.settled.at(-1)?.reading;
  lines.push(
    load.length === 0
      ? `Memory of each process, idle ${run.idleWaitMs / 1000} s after every instance listened.`
      : `Memory of each process: idle ${run.idleWaitMs / 1000} s after every instance listened, right after ${run.loadSeconds} s of load through the gateway (autocannon -c ${run.connections}: ${load.map((l) => `${l.call} ${l.seconds} s, ${l.verified} verified${l.failed > 0 ? `, ${l.failed} failed` : ""}${l.shed > 0 ? `, ${l.shed} shed` : ""}`).join("; ")}), and idle again after it. Goal: back within ${SETTLED_RSS_GOAL}x of idle RSS. RSS counts the node binary's shared pages in every process; private memory is what each adds to the machine.`,
    "",
    `| process | idle RSS MB | PSS | private |${load.length === 0 ? "" : ` after load | ${settled.map((t) => `after ${t / 1000} s`).join(" | ")} | last / idle |`}`,
    `|---|---:|---:|---:|${load.length === 0 ? "" : `---:|${settled.map(() => "---:|").join("")}---:|`}`,
    ...processes.map((p) => {
      const idle = p.idle.memory;
      const head = `| ${label(p)} | ${idle.rssMb} | ${idle.pssMb} | ${idle.privateMb} |`;
      if (load.length === 0) return head;
      const end = last(p)?.memory.rssMb;
      const ratio = end === undefined ? "-" : `${(end / idle.rssMb).toFixed(2)}${end / idle.rssMb <= SETTLED_RSS_GOAL ? "" : " (over)"}`;
      return `${head} ${p.afterLoad?.memory.rssMb ?? "-"} | ${p.settled.map((s) => s.reading.memory.rssMb).join(" | ")} | ${ratio} |`;
    }),
    `| all ${processes.length} | ${sum(processes.map((p) => p.idle.memory.rssMb))} | ${sum(processes.map((p) => p.idle.memory.pssMb))} | ${sum(processes.map((p) => p.idle.memory.privateMb))} |${load.length === 0 ? "" : ` ${sum(processes.map((p) => p.afterLoad?.memory.rssMb ?? 0))} | ${settled.map((_, i) => sum(processes.map((p) => p.settled[i]?.reading.memory.rssMb ?? 0))).join(" | ")} | |`}`,
  );

  // Where the memory lies: smaps regions and V8's heap spaces, idle, after the load and at the last reading.
  const where = (p: ShopProcess): [string, MemoryReading | undefined][] => [["idle", p.idle], ["after load", p.afterLoad], [`after ${(settled.at(-1) ?? 0) / 1000} s`, last(p)]];
  const space = (r: MemoryReading, name: string) => r.v8?.spaces[name]?.committedMb ?? "-";
  lines.push(
    "",
    "Where each process's resident memory lies (MB): glibc malloc's main arena (`[heap]`), other anonymous mappings (V8's heap, other malloc arenas, large mmapped blocks) and file pages, from /proc/<pid>/smaps; V8's resident heap, the committed size of its spaces (new = the young generation's semi-spaces) and Buffers' backing stores, from inside the process.",
    "",
    "| process | reading | RSS | malloc [heap] | anonymous | files | V8 heap resident | new | old | code | large objects | Buffers |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...processes.flatMap((p) =>
      where(p).flatMap(([name, r]) =>
        r === undefined
          ? []
          : [`| ${label(p)} | ${name} | ${r.memory.rssMb} | ${r.regions?.mallocHeapMb ?? "-"} | ${r.regions?.anonymousMb ?? "-"} | ${r.regions?.fileMb ?? "-"} | ${r.v8?.heapPhysicalMb ?? "-"} | ${space(r, "new_space")} | ${space(r, "old_space")} | ${space(r, "code_space")} | ${space(r, "large_object_space")} | ${r.v8?.arrayBuffersMb ?? "-"} |`],
      ),
    ),
  );
  return lines;
}

function sum(values: readonly number[]): string {
  return values.reduce((a, b) => a + b, 0).toFixed(0);
}
