// The API explorer: every unary method the mesh serves (from GetDescriptors), a form built from the
// request's schema or raw JSON, metadata, an instance to call, and the answer with its headers,
// trailers, timing and trace id, plus the same call as `weft call` and `buf curl`.

import { createFileRegistry, type DescMessage, type DescMethod, type FileRegistry } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { AdminService } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { esc } from "./mesh-model.ts";

/** Header the dashboard's server reads to send a call to one instance (it never leaves that server). */
export const INSTANCE_HEADER = "x-weft-dash-instance";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** Where the mesh is, as the dashboard's server reports it (for the copied commands). */
export interface MeshInfo {
  readonly meshUrl: string;
  readonly weftTarget: string;
}

interface HistoryEntry {
  readonly method: string;
  readonly status: string;
  readonly ms: number;
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A starting request: each scalar field at its zero value, so the form shows every field. */
function skeleton(message: DescMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of message.fields) {
    if (f.fieldKind === "scalar") out[f.jsonName] = typeof f.getDefaultValue() === "bigint" ? "0" : f.getDefaultValue() ?? "";
    else if (f.fieldKind === "enum") out[f.jsonName] = f.enum.values[0]?.name ?? 0;
  }
  return out;
}

/** Mounts the explorer; `apiBase` is where calls go (the dashboard's server forwards them). */
export async function createExplorer(admin: Client<typeof AdminService>, apiBase: string, info: MeshInfo): Promise<{ setInstances(ids: readonly string[]): void }> {
  const res = await admin.getDescriptors({});
  const registry: FileRegistry = createFileRegistry(res.files!);
  const methods: DescMethod[] = res.services
    .filter((s) => !s.startsWith("grpc."))
    .flatMap((s) => registry.getService(s)?.methods ?? [])
    .filter((m) => m.methodKind === "unary");
  const history: HistoryEntry[] = [];
  let current: DescMethod | undefined;

  const list = $("method-list");
  const search = $<HTMLInputElement>("method-search");
  const requestJson = $<HTMLTextAreaElement>("request-json");
  function renderList(): void {
    const q = search.value.trim().toLowerCase();
    list.replaceChildren(
      ...methods
        .filter((m) => q === "" || `${m.parent.typeName}/${m.name}`.toLowerCase().includes(q))
        .map((m) => {
          const li = document.createElement("li");
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = `${m.parent.name}/${m.name}`;
          button.title = `${m.parent.typeName}/${m.name}`;
          button.dataset.method = `${m.parent.typeName}/${m.name}`;
          button.addEventListener("click", () => pick(m));
          li.append(button);
          return li;
        }),
    );
  }

  function pick(m: DescMethod): void {
    current = m;
    $("method-name").textContent = `${m.parent.typeName}/${m.name}`;
    $<HTMLButtonElement>("call-button").disabled = false;
    const fields = $("fields");
    fields.replaceChildren();
    // Scalar fields get inputs that write into the JSON; nested messages are edited in the JSON itself.
    for (const f of m.input.fields) {
      if (f.fieldKind !== "scalar" && f.fieldKind !== "enum") continue;
      const label = document.createElement("label");
      label.textContent = `${f.jsonName} `;
      const input = f.fieldKind === "enum" ? document.createElement("select") : document.createElement("input");
      input.name = f.jsonName;
      if (input instanceof HTMLSelectElement && f.fieldKind === "enum") for (const v of f.enum.values) input.add(new Option(v.name, v.name));
      else if (input instanceof HTMLInputElement) input.type = typeof f.getDefaultValue() === "boolean" ? "checkbox" : typeof f.getDefaultValue() === "number" ? "number" : "text";
      input.addEventListener("input", () => {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(requestJson.value || "{}");
        } catch {
          body = {};
        }
        body[f.jsonName] = input instanceof HTMLInputElement && input.type === "checkbox" ? input.checked : input instanceof HTMLInputElement && input.type === "number" ? Number(input.value) : input.value;
        requestJson.value = JSON.stringify(body, null, 2);
      });
      label.append(input);
      fields.append(label);
    }
    requestJson.value = JSON.stringify(skeleton(m.input), null, 2);
  }

  async function call(): Promise<void> {
    if (current === undefined) return;
    const path = `${current.parent.typeName}/${current.name}`;
    const out = $("response");
    let body: unknown;
    try {
      body = JSON.parse(requestJson.value || "{}");
    } catch (err) {
      out.dataset.state = "error";
      $("call-status").textContent = `malformed JSON: ${(err as Error).message}`;
      return;
    }
    const traceId = randomHex(16);
    const headers = new Headers({ "content-type": "application/json", "connect-protocol-version": "1", traceparent: `00-${traceId}-${randomHex(8)}-01` });
    const metadata: [string, string][] = [];
    for (const line of $<HTMLTextAreaElement>("metadata").value.split("\n")) {
      const cut = line.indexOf(":");
      if (cut > 0) metadata.push([line.slice(0, cut).trim(), line.slice(cut + 1).trim()]);
    }
    for (const [k, v] of metadata) headers.set(k, v);
    const instance = $<HTMLSelectElement>("instance-pick").value;
    if (instance !== "") headers.set(INSTANCE_HEADER, instance);
    out.dataset.state = "calling";
    const started = performance.now();
    let status: string;
    try {
      const response = await fetch(`${apiBase}/${path}`, { method: "POST", headers, body: JSON.stringify(body) });
      const text = await response.text();
      const ms = performance.now() - started;
      const headerLines: string[] = [];
      const trailerLines: string[] = [];
      response.headers.forEach((v, k) => (k.startsWith("trailer-") ? trailerLines.push(`${k.slice(8)}: ${v}`) : headerLines.push(`${k}: ${v}`)));
      let pretty = text;
      try {
        pretty = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // not JSON: shown as sent
      }
      status = response.ok ? "ok" : (() => {
        try {
          return (JSON.parse(text) as { code?: string }).code ?? `HTTP ${response.status}`;
        } catch {
          return `HTTP ${response.status}`;
        }
      })();
      out.dataset.state = response.ok ? "ok" : "error";
      $("call-status").innerHTML = `<strong>${esc(status)}</strong> in <span id="call-ms">${ms.toFixed(1)}</span> ms · trace <code id="trace-id">${traceId}</code>`;
      $("response-body").textContent = pretty;
      $("response-meta").textContent = `headers\n${headerLines.join("\n")}\n\ntrailers\n${trailerLines.join("\n") || "(none)"}`;
      history.unshift({ method: path, status, ms });
    } catch (err) {
      out.dataset.state = "error";
      $("call-status").textContent = `the call did not reach the mesh: ${(err as Error).message}`;
      return;
    }
    const json = JSON.stringify(body);
    const headerFlags = metadata.map(([k, v]) => ` -H ${shellQuote(`${k}: ${v}`)}`).join("");
    $<HTMLInputElement>("copy-weft").value = `npx weft call ${path} ${shellQuote(json)}${headerFlags}${info.weftTarget}${instance !== "" ? ` --instance ${instance}` : ""}`;
    $<HTMLInputElement>("copy-buf").value = `buf curl --http2-prior-knowledge --protocol grpc${headerFlags.replace(/ -H /g, " -H ")} -d ${shellQuote(json)} ${info.meshUrl}/${path}`;
    $("history").replaceChildren(
      ...history.slice(0, 10).map((h) => {
        const li = document.createElement("li");
        li.textContent = `${h.method}: ${h.status} (${h.ms.toFixed(0)} ms)`;
        return li;
      }),
    );
  }

  search.addEventListener("input", renderList);
  $("call-form").addEventListener("submit", (e) => {
    e.preventDefault();
    void call();
  });
  renderList();
  return {
    setInstances(ids) {
      const select = $<HTMLSelectElement>("instance-pick");
      const have = [...select.options].map((o) => o.value).filter((v) => v !== "");
      if (have.join() === ids.join()) return;
      const keep = select.value;
      select.replaceChildren(new Option("any", ""), ...ids.map((id) => new Option(id, id)));
      select.value = ids.includes(keep) ? keep : "";
    },
  };
}
