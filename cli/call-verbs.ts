// The verbs that use the schema: describe and call (any method, from JSON), and events tail.

import { createFileRegistry, ScalarType, type DescMethod, type DescService, fromJson, type FileRegistry, toJson, type JsonValue } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { AdminService } from "../gen/weft/mesh/v1/admin_pb.ts";
import { adminFailure, CliError, EXIT, protocolOf, type Target } from "./target.ts";

async function registry(target: Target, admin: Client<typeof AdminService> = target.admin): Promise<{ registry: FileRegistry; services: readonly string[] }> {
  try {
    const res = await admin.getDescriptors({}, { headers: target.headers, timeoutMs: 10_000 });
    return { registry: createFileRegistry(res.files!), services: res.services };
  } catch (err) {
    throw adminFailure(err, target);
  }
}

/** "pkg.Service/Method", "pkg.Service.Method", "Service/Method" or "/pkg.Service/Method" as service and method names. */
function splitMethod(name: string): { serviceName: string; methodName: string } {
  const clean = name.replace(/^\//, "");
  const cut = clean.includes("/") ? clean.lastIndexOf("/") : clean.lastIndexOf(".");
  return { serviceName: clean.slice(0, cut), methodName: clean.slice(cut + 1) };
}

/** Finds "pkg.Service/Method", "pkg.Service.Method", "Service/Method" or "/pkg.Service/Method". */
function findMethod(reg: FileRegistry, services: readonly string[], name: string): { service: DescService; method: DescMethod } {
  const { serviceName, methodName } = splitMethod(name);
  const candidates = services.filter((s) => s === serviceName || s.endsWith(`.${serviceName}`));
  for (const s of candidates) {
    const service = reg.getService(s);
    const method = service?.methods.find((m) => m.name === methodName);
    if (service !== undefined && method !== undefined) return { service, method };
  }
  throw new CliError(`unknown method ${JSON.stringify(name)}: weft describe lists the services and methods (${services.filter((s) => !s.startsWith("grpc.")).join(", ")})`, EXIT.usage);
}

/** `weft describe [service|method]`. */
export async function describe(target: Target, name: string | undefined, options: { json?: boolean }): Promise<string> {
  const { registry: reg, services } = await registry(target);
  const serviceList = name === undefined ? services : services.filter((s) => s === name || s.endsWith(`.${name}`));
  if (serviceList.length === 0) {
    const { method } = findMethod(reg, services, name!);
    const fields = method.input.fields.map((f) => ({ name: f.jsonName, type: f.fieldKind === "scalar" ? scalarName(f.scalar) : f.fieldKind === "message" ? f.message.typeName : f.fieldKind === "enum" ? f.enum.typeName : f.fieldKind, repeated: f.fieldKind === "list" }));
    const out = { method: `${method.parent.typeName}/${method.name}`, kind: method.methodKind, input: method.input.typeName, output: method.output.typeName, idempotency: method.idempotency, inputFields: fields };
    if (options.json) return JSON.stringify(out, null, 2);
    return [`${out.method} (${out.kind})`, `  input  ${out.input}`, ...fields.map((f) => `    ${f.name}: ${f.repeated ? "repeated " : ""}${describeType(method, f.name)}`), `  output ${out.output}`].join("\n");
  }
  const described = serviceList.map((s) => {
    const service = reg.getService(s)!;
    return { service: s, methods: service.methods.map((m) => ({ name: m.name, kind: m.methodKind, input: m.input.typeName, output: m.output.typeName })) };
  });
  if (options.json) return JSON.stringify(described, null, 2);
  return described.map((d) => [d.service, ...d.methods.map((m) => `  ${m.name}(${m.input}) returns (${m.kind === "server_streaming" ? "stream " : ""}${m.output})`)].join("\n")).join("\n\n");
}

function describeType(method: DescMethod, jsonName: string): string {
  const f = method.input.fields.find((x) => x.jsonName === jsonName)!;
  if (f.fieldKind === "message") return f.message.typeName;
  if (f.fieldKind === "enum") return f.enum.typeName;
  if (f.fieldKind === "list") return f.listKind === "message" ? f.message!.typeName : f.listKind === "enum" ? f.enum!.typeName : scalarName(f.scalar);
  if (f.fieldKind === "map") return "map";
  return scalarName(f.scalar);
}

/** Options of `weft call`. */
export interface CallOptions {
  json?: boolean;
  protocol?: string;
  header?: string[];
  deadline?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** `weft call <method> [json]`: prints the answer as JSON, or the error's code and details. */
export async function call(target: Target, name: string, body: string | undefined, options: CallOptions, signal: AbortSignal): Promise<{ output: string; exitCode: number }> {
  let { registry: reg, services } = await registry(target);
  // In a distributed mesh the admin instance knows its own services' schema only: ask one serving the method's.
  const { serviceName } = splitMethod(name);
  const owner = services.some((s) => s === serviceName || s.endsWith(`.${serviceName}`)) ? undefined : target.instances.flatMap((i) => i.services).find((s) => s === serviceName || s.endsWith(`.${serviceName}`));
  if (owner !== undefined) ({ registry: reg, services } = await registry(target, createClient(AdminService, target.transport(owner, "grpc"))));
  const { service, method } = findMethod(reg, services, name);
  const text = body ?? (process.stdin.isTTY ? "{}" : await readStdin());
  let parsed: JsonValue;
  try {
    parsed = text.trim() === "" ? {} : (JSON.parse(text) as JsonValue);
  } catch (err) {
    throw new CliError(`the request is not JSON: ${(err as Error).message}`, EXIT.usage);
  }
  let input;
  try {
    input = fromJson(method.input, parsed, { registry: reg });
  } catch (err) {
    throw new CliError(`the request does not fit ${method.input.typeName}: ${(err as Error).message}`, EXIT.usage);
  }
  const headers = new Headers();
  for (const h of options.header ?? []) {
    const at = h.indexOf(":");
    if (at <= 0) throw new CliError(`-H wants "name: value", got ${JSON.stringify(h)}`, EXIT.usage);
    headers.append(h.slice(0, at).trim(), h.slice(at + 1).trim());
  }
  const timeoutMs = options.deadline === undefined ? 30_000 : Number(options.deadline.replace(/ms$/, ""));
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new CliError(`--deadline must be a number of milliseconds, got ${options.deadline}`, EXIT.usage);
  const transport = target.transport(service.typeName, protocolOf(options.protocol, "connect"));
  const started = performance.now();
  try {
    if (method.methodKind === "unary") {
      const res = await transport.unary(method as never, signal, timeoutMs, headers, input as never, undefined);
      const message = toJson(method.output, res.message as never, { registry: reg });
      return { output: JSON.stringify(options.json ? { message, header: Object.fromEntries(res.header), trailer: Object.fromEntries(res.trailer), ms: Math.round(performance.now() - started) } : message, null, 2), exitCode: EXIT.ok };
    }
    if (method.methodKind === "server_streaming") {
      const res = await transport.stream(method as never, signal, timeoutMs, headers, (async function* () { yield input; })() as never, undefined);
      const lines: string[] = [];
      for await (const m of res.message) lines.push(JSON.stringify(toJson(method.output, m as never, { registry: reg })));
      return { output: lines.join("\n"), exitCode: EXIT.ok };
    }
    throw new CliError(`${method.name} is ${method.methodKind}: weft call handles unary and server-streaming methods`, EXIT.usage);
  } catch (err) {
    if (err instanceof CliError) throw err;
    const e = ConnectError.from(err);
    const details = e.details.map((d) => ("desc" in d ? { type: d.desc.typeName, value: d.value } : { type: d.type }));
    const error = { code: Code[e.code], codeNumber: e.code, message: e.rawMessage, details, metadata: Object.fromEntries(e.metadata) };
    return { output: JSON.stringify({ error }, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v), 2), exitCode: EXIT.callFailed };
  }
}

/** Options of `weft events tail`. */
export interface TailOptions {
  count?: string;
  last?: string;
  subject?: string;
}

/** `weft events tail <stream>`: a stream's messages (the last --last, then new ones), one JSON line each, over AdminService.TailEvents. */
export async function eventsTail(target: Target, stream: string, options: TailOptions, signal: AbortSignal, print: (line: string) => void): Promise<void> {
  const count = options.count === undefined ? 0 : Number(options.count);
  if (!Number.isInteger(count) || count < 0) throw new CliError(`--count must be a whole number, got ${JSON.stringify(options.count)}`, EXIT.usage);
  const last = options.last === undefined ? 0 : Number(options.last);
  if (!Number.isInteger(last) || last < 0 || last > 1000) throw new CliError(`--last must be 0..1000, got ${JSON.stringify(options.last)}`, EXIT.usage);
  try {
    for await (const m of target.admin.tailEvents({ stream, subjectFilter: options.subject ?? "", last, maxMessages: count }, { headers: target.headers, signal })) {
      print(JSON.stringify({ stream: m.stream, seq: Number(m.seq), subject: m.subject, time: new Date(Number(m.timeUnixMs)).toISOString(), bytes: m.bytes, headers: m.headers }));
    }
  } catch (err) {
    if (signal.aborted) return;
    const e = ConnectError.from(err);
    if (e.code === Code.NotFound || e.code === Code.InvalidArgument) throw new CliError(`${e.rawMessage} (weft events report lists the streams)`, EXIT.usage);
    if (e.code === Code.FailedPrecondition) throw new CliError(`events tail: ${e.rawMessage}; give the mesh's NATS (--nats / NATS_URL)`, EXIT.usage);
    throw adminFailure(err, target);
  }
}

function scalarName(scalar: ScalarType | undefined): string {
  return scalar === undefined ? "?" : ScalarType[scalar].toLowerCase();
}
