// Writes the .proto files that proto/ imports but that npm packages ship only as embedded descriptors:
// buf/validate/validate.proto from @bufbuild/protovalidate (the schema registry is out of reach). The
// file is printed from the package's descriptor into the git-ignored .proto-imports/ (a module of
// buf.yaml), then compiled back with buf and compared with that descriptor, so what buf sees is exactly
// what the validator enforces. `npm run generate`, `lint:proto` and `check:gen` run it first.
// Usage: node scripts/proto-imports.ts [--help]
import { execFileSync } from "node:child_process";
import { readCommandLine } from "../mesh/errors/index.ts";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { clearField, clone, equals, fromBinary, type DescFile } from "@bufbuild/protobuf";
import { embedFileDesc } from "@bufbuild/protobuf/codegenv2";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { printProtoSource } from "./proto-source.ts";

const root = new URL("..", import.meta.url).pathname;
/** Where the printed imports go (git-ignored; listed as a module in buf.yaml). */
export const PROTO_IMPORTS_DIR = join(root, ".proto-imports");

const IMPORTS: ReadonlyArray<{ readonly file: DescFile; readonly from: string }> = [{ file: file_buf_validate_validate, from: "@bufbuild/protovalidate" }];

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}

/** The descriptor as protobuf-es embeds it (no imports, no source info, default JSON names dropped). */
function embedded(proto: FileDescriptorProto): FileDescriptorProto {
  return embedFileDesc(proto).proto();
}

/** Compiles the printed files with buf and fails unless each compiles back to its package's descriptor. */
function verify(): void {
  const out = mkdtempSync(join(tmpdir(), "weft-proto-imports-"));
  try {
    const image = join(out, "image.binpb");
    execFileSync(join(root, "node_modules/.bin/buf"), ["build", PROTO_IMPORTS_DIR, "-o", image], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
    const set = fromBinary(FileDescriptorSetSchema, readFileSync(image));
    for (const { file, from } of IMPORTS) {
      const compiled = set.file.find((f) => f.name === `${file.name}.proto`);
      if (compiled === undefined) throw new Error(`${file.name}.proto did not compile`);
      const want = clone(FileDescriptorProtoSchema, file.proto);
      clearField(want, FileDescriptorProtoSchema.field.dependency);
      if (!equals(FileDescriptorProtoSchema, embedded(compiled), embedded(want))) {
        throw new Error(`${file.name}.proto printed from ${from} does not compile back to the package's descriptor`);
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Writes every import into {@link PROTO_IMPORTS_DIR} and verifies it. */
export function writeProtoImports(): void {
  rmSync(PROTO_IMPORTS_DIR, { recursive: true, force: true });
  for (const { file, from } of IMPORTS) {
    const path = join(PROTO_IMPORTS_DIR, `${file.name}.proto`);
    mkdirSync(dirname(path), { recursive: true });
    const header = [`Printed by scripts/proto-imports.ts from the descriptor embedded in ${from} ${packageVersion(from)}.`, "Generated, git-ignored: never edit; run npm run generate."];
    writeFileSync(path, printProtoSource(file, header));
  }
  verify();
}

if (import.meta.main) {
  readCommandLine({
    usage: "node scripts/proto-imports.ts   (run by npm run generate and npm run check:gen)",
    summary: "Writes .proto-imports/ (buf/validate/validate.proto from @bufbuild/protovalidate) and checks that it\ncompiles back to the package's descriptor.",
    flags: {},
  });
  writeProtoImports();
}
