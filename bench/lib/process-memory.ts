// What a process really costs in memory. RSS counts every page it touches, including the pages of the
// node binary that all Node processes on the machine share; PSS divides shared pages among their users,
// and private dirty memory is what the process wrote and no other process can share: what the machine gets
// back when it exits. (Clean pages of the node binary count as private while no other process maps the same
// file, so they are left out of it.)

import { readFileSync } from "node:fs";

/** Memory of one process, in MB (from /proc/<pid>/smaps_rollup). */
export interface ProcessMemory {
  /** Resident set: private and shared pages. */
  readonly rssMb: number;
  /** Proportional set: private pages plus each shared page divided by its sharers. */
  readonly pssMb: number;
  /** Private pages written by the process (heap, stacks, buffers): not shareable, not file-backed. */
  readonly privateMb: number;
  /** Shared pages that are not written (the node binary and libraries, when another process maps them too). */
  readonly sharedCleanMb: number;
}

/** The memory of process `pid` (default: this one), or undefined when /proc cannot be read (not Linux, gone). */
export function processMemory(pid: number | "self" = "self"): ProcessMemory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  } catch {
    return undefined;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? Number.NaN);
  const mb = (n: number) => Math.round((n / 1024) * 10) / 10;
  return {
    rssMb: mb(kb("Rss")),
    pssMb: mb(kb("Pss")),
    privateMb: mb(kb("Private_Dirty")),
    sharedCleanMb: mb(kb("Shared_Clean")),
  };
}

/** Where a process's resident memory lies, in MB (from /proc/<pid>/smaps): what a number after load is made of. */
export interface MemoryRegions {
  /** glibc malloc's main arena (`[heap]`, grown with brk): C++ objects, nghttp2 and OpenSSL buffers, small Buffers. */
  readonly mallocHeapMb: number;
  /** Anonymous mappings: V8's heap pages and code space, other malloc arenas, mmapped large allocations. */
  readonly anonymousMb: number;
  /** Pages of files: the node binary, shared libraries, the compile cache. */
  readonly fileMb: number;
  /** Thread stacks (`[stack]` and the anonymous stacks of threads are in anonymousMb). */
  readonly stackMb: number;
}

/** The resident memory of process `pid` (default: this one) by region, or undefined when /proc cannot be read. */
export function memoryRegions(pid: number | "self" = "self"): MemoryRegions | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  } catch {
    return undefined;
  }
  const kb = { heap: 0, anonymous: 0, file: 0, stack: 0 };
  let region: keyof typeof kb = "anonymous";
  for (const line of text.split("\n")) {
    // A mapping's header: address range, permissions, offset, device, inode, then the path (if any).
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header !== null) {
      const path = header[2]!;
      region = path === "[heap]" ? "heap" : path === "[stack]" ? "stack" : header[1] !== "0" ? "file" : "anonymous";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) kb[region] += Number(rss[1]);
  }
  const mb = (n: number) => Math.round((n / 1024) * 10) / 10;
  return { mallocHeapMb: mb(kb.heap), anonymousMb: mb(kb.anonymous), fileMb: mb(kb.file), stackMb: mb(kb.stack) };
}
