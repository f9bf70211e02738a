// Every message schema reachable from the generated files in gen/: the messages of each file, their
// nested messages, and the message types of their fields (well-known types included). Files are found
// on disk, so a new .proto is covered by the tests without editing them.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { DescFile, DescMessage } from "@bufbuild/protobuf";

const GEN = fileURLToPath(new URL("../../../gen/", import.meta.url));
// Other projects' test contracts, vendored for the interop suites that exercise them end to end; they
// hold google.protobuf.Any (delegated to protobuf-es by design) and are not contracts Weft serves.
const VENDORED_TEST_CONTRACTS = ["connectrpc/", "grpc/testing/"];

/** All message schemas reachable from a set of files, in a stable order. */
export function reachableMessages(files: Iterable<DescFile>): DescMessage[] {
  const found = new Map<string, DescMessage>();
  const visit = (m: DescMessage): void => {
    if (found.has(m.typeName)) return;
    found.set(m.typeName, m);
    m.nestedMessages.forEach(visit);
    for (const f of m.fields) if (f.message) visit(f.message);
  };
  for (const file of files) file.messages.forEach(visit);
  return [...found.values()].sort((a, b) => a.typeName.localeCompare(b.typeName));
}

/** The generated files of gen/ (every `file_*` export of every `*_pb.ts`). */
export async function genFiles(): Promise<DescFile[]> {
  const paths = readdirSync(GEN, { recursive: true, encoding: "utf8" })
    .filter((p) => p.endsWith("_pb.ts") && !VENDORED_TEST_CONTRACTS.some((dir) => p.startsWith(dir)))
    .sort();
  const files: DescFile[] = [];
  for (const path of paths) {
    const mod = (await import(pathToFileURL(join(GEN, path)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (name.startsWith("file_") && (value as DescFile).kind === "file") files.push(value as DescFile);
    }
  }
  return files;
}
