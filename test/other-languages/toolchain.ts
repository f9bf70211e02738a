// Builds the Go and Python shop clients of docs/calling-from-other-languages.md into the git-ignored
// .tools/other-languages/, keyed by a hash of their inputs so a second run reuses the build.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

const ROOT = new URL("../../", import.meta.url).pathname;
const HERE = join(ROOT, "test/other-languages");
const OUT = join(ROOT, ".tools/other-languages");
const BUF = join(ROOT, "node_modules/.bin/buf");

/** The Go code generators, pinned (go install from the Go module proxy). */
export const GO_PLUGINS = ["google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12", "connectrpc.com/connect/cmd/protoc-gen-connect-go@v1.21.1"] as const;
/** Building must finish within this (a cold Go module and build cache included). */
const BUILD_TIMEOUT_MS = 600_000;

function hashOf(files: readonly string[], extra = ""): string {
  const hash = createHash("sha256").update(extra);
  for (const f of files) hash.update(f).update(readFileSync(join(ROOT, f)));
  return hash.digest("hex").slice(0, 16);
}

async function has(command: string, args: readonly string[]): Promise<boolean> {
  try {
    await run(command, [...args], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** Why the Go client cannot be built here, or undefined when it can. */
export async function goMissing(): Promise<string | undefined> {
  return (await has("go", ["version"])) ? undefined : "no `go` on PATH (install Go 1.24 or newer)";
}

/** Why the Python client cannot be built here, or undefined when it can. */
export async function pythonMissing(): Promise<string | undefined> {
  return (await has("python3", ["-m", "venv", "--help"])) ? undefined : "no `python3` with the venv module on PATH";
}

const GATEWAY_PROTO = "proto/shop/gateway/v1/gateway.proto";
/** The contracts import buf/validate, printed from its package into .proto-imports/ by npm run generate and check:gen. */
const VALIDATE_PROTO = ".proto-imports/buf/validate/validate.proto";

/** Builds (or reuses) the Go client; returns the path of its binary. */
export async function buildGoClient(): Promise<string> {
  const inputs = ["test/other-languages/go/buf.gen.yaml", "test/other-languages/go/main.go", "test/other-languages/go/go.mod", "test/other-languages/go/go.sum", GATEWAY_PROTO, VALIDATE_PROTO];
  const dir = join(OUT, `go-${hashOf(inputs, GO_PLUGINS.join())}`);
  const binary = join(dir, "shopclient");
  if (existsSync(binary)) return binary;
  const pluginBin = join(OUT, `go-plugins-${hashOf([], GO_PLUGINS.join())}`);
  const env = { ...process.env, GOBIN: pluginBin, PATH: `${pluginBin}:${process.env.PATH}`, GOFLAGS: "-mod=mod" };
  for (const plugin of GO_PLUGINS) {
    const name = plugin.split("/").at(-1)!.split("@")[0];
    if (!existsSync(join(pluginBin, name))) await run("go", ["install", plugin], { env, timeout: BUILD_TIMEOUT_MS });
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of ["main.go", "go.mod", "go.sum"]) cpSync(join(HERE, "go", f), join(dir, f));
  await run(BUF, ["generate", "--template", join(HERE, "go/buf.gen.yaml"), "--path", "proto/shop/gateway", "--path", VALIDATE_PROTO, "-o", dir], { cwd: ROOT, env, timeout: BUILD_TIMEOUT_MS });
  await run("go", ["build", "-o", binary, "."], { cwd: dir, env, timeout: BUILD_TIMEOUT_MS });
  return binary;
}

/** Builds (or reuses) the Python client's virtualenv and stubs; returns how to run it. */
export async function buildPythonClient(): Promise<{ python: string; script: string; genDir: string }> {
  const venv = join(OUT, `py-venv-${hashOf(["test/other-languages/python/requirements.txt"])}`);
  const python = join(venv, "bin/python");
  if (!existsSync(join(venv, "ready"))) {
    rmSync(venv, { recursive: true, force: true });
    await run("python3", ["-m", "venv", venv], { timeout: BUILD_TIMEOUT_MS });
    await run(python, ["-m", "pip", "install", "--quiet", "-r", join(HERE, "python/requirements.txt")], { timeout: BUILD_TIMEOUT_MS });
    await run(python, ["-c", "open('ready', 'w').close()"], { cwd: venv });
  }
  const genDir = join(OUT, `py-gen-${hashOf([GATEWAY_PROTO, VALIDATE_PROTO, "test/other-languages/python/requirements.txt"])}`);
  if (!existsSync(join(genDir, "shop/gateway/v1/gateway_pb2_grpc.py"))) {
    rmSync(genDir, { recursive: true, force: true });
    mkdirSync(genDir, { recursive: true });
    const image = join(genDir, "gateway.binpb");
    await run(BUF, ["build", "--path", "proto/shop/gateway", "-o", image], { cwd: ROOT, timeout: BUILD_TIMEOUT_MS });
    await run(python, ["-m", "grpc_tools.protoc", `--descriptor_set_in=${image}`, `--python_out=${genDir}`, `--grpc_python_out=${genDir}`, "shop/gateway/v1/gateway.proto", "buf/validate/validate.proto"], { timeout: BUILD_TIMEOUT_MS });
  }
  return { python, script: join(HERE, "python/shop_client.py"), genDir };
}
