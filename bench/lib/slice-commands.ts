// The slice protocol's commands, read by every process that applies load in slices (client drivers,
// autocannon-slices.ts): `{"slice":MS}` lines on stdin, until `{"end":true}` or the end of stdin.

import { createInterface } from "node:readline";

/** The slice lengths asked for on stdin, in milliseconds, in order. */
export async function* sliceRequests(): AsyncGenerator<number> {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    let command: { slice?: unknown; end?: unknown };
    try {
      command = JSON.parse(line) as typeof command;
    } catch {
      continue; // not a command
    }
    if (command.end === true) break;
    if (typeof command.slice === "number" && command.slice > 0) yield command.slice;
  }
  lines.close();
}
