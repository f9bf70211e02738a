// Summaries of V8 CPU profiles (`node --cpu-prof`), so a missed target comes with what the profile
// shows: the functions with the most self time and the share spent in garbage collection.

import { readFileSync } from "node:fs";
import { relative } from "node:path";

/** One line of a profile summary. */
export interface ProfileEntry {
  /** Function name and where it is (file:line, relative to the repository when inside it). */
  readonly name: string;
  /** Share of busy (non-idle) samples spent in this function itself, 0..1. */
  readonly selfShare: number;
}

/** A profile's summary. */
export interface ProfileSummary {
  /** The .cpuprofile file, loadable in Chrome DevTools or speedscope. */
  readonly file: string;
  /** Share of busy samples in V8's garbage collector, 0..1. */
  readonly gcShare: number;
  /** Share of all samples the process was idle (waiting for I/O), 0..1. */
  readonly idleShare: number;
  /** Functions with the most self time, highest first. */
  readonly top: readonly ProfileEntry[];
}

interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

/** Reads a .cpuprofile and summarizes it (`top` entries). */
export function summarizeProfile(file: string, root: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: CpuProfileNode[] };
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let gc = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") {
      idle += hits;
      continue;
    }
    if (functionName === "(garbage collector)") gc += hits;
    const where = url === "" ? "" : ` ${url.startsWith("file://") ? relative(root, new URL(url).pathname) : url}:${lineNumber + 1}`;
    const key = `${functionName || "(anonymous)"}${where}`;
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  const busy = total - idle;
  const share = (n: number) => (busy > 0 ? Math.round((n / busy) * 1000) / 1000 : 0);
  return {
    file,
    gcShare: share(gc),
    idleShare: total > 0 ? Math.round((idle / total) * 1000) / 1000 : 0,
    top: [...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, hits]) => ({ name, selfShare: share(hits) })),
  };
}
