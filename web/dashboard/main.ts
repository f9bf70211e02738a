// The operators' dashboard: one WatchMesh stream (Connect-Web, server streaming) feeds every page; the
// event streams are listed every few seconds, and one of them can be tailed live (TailEvents). The page calls only the server that served it (`weft
// dash`), which forwards to the mesh with the operator's credentials: the page holds none.

import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AdminService, type ConsumerStats, type EventStreamStats, type MeshSnapshot } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { createEventTail, type EventTail } from "./event-tail.ts";
import { createExplorer } from "./explorer.ts";
import { esc, format, methodsOf, type Objectives, sumSeries } from "./mesh-model.ts";
import { createSparkline, type Sparkline } from "./sparkline.ts";
import type { Topology } from "./topology.ts";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** Calls go to ./api/ under the page's own (secret) path. */
const apiBase = new URL("./api", location.href).href.replace(/\/$/, "");
// Binary: a snapshot with 5 minutes of series for hundreds of keys parses far faster than its JSON.
const admin = createClient(AdminService, createConnectTransport({ baseUrl: apiBase, useBinaryFormat: true }));

/** Milliseconds between event stream listings. */
const STREAMS_EVERY_MS = 5000;
const OBJECTIVES_KEY = "weft-dash-objectives";

function readObjectives(): Objectives {
  const success = Number($<HTMLInputElement>("slo-success").value);
  const p99 = Number($<HTMLInputElement>("slo-p99").value);
  return { minSuccess: Number.isFinite(success) ? success / 100 : 0.99, maxP99Ms: Number.isFinite(p99) && p99 > 0 ? p99 : 250 };
}

function restoreObjectives(): void {
  try {
    const saved = JSON.parse(localStorage.getItem(OBJECTIVES_KEY) ?? "null") as { success?: number; p99?: number } | null;
    if (saved?.success !== undefined) $<HTMLInputElement>("slo-success").value = String(saved.success);
    if (saved?.p99 !== undefined) $<HTMLInputElement>("slo-p99").value = String(saved.p99);
  } catch {
    // nothing saved
  }
}

const state = {
  page: "topology",
  paused: false,
  windowSeconds: 300,
  snapshot: undefined as MeshSnapshot | undefined,
  streams: [] as EventStreamStats[],
  topology: undefined as Promise<Topology> | undefined,
  watch: undefined as AbortController | undefined,
  methodSparks: new Map<string, Sparkline>(),
};

function showPage(page: string): void {
  state.page = page;
  for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) b.setAttribute("aria-pressed", String(b.dataset.page === page));
  for (const s of document.querySelectorAll<HTMLElement>(".page")) s.hidden = s.id !== `page-${page}`;
  if (page === "explorer" && explorer === undefined) explorer = createExplorer(admin, apiBase, info).catch((err) => {
    $("method-name").textContent = `cannot list methods: ${(err as Error).message}`;
    throw err;
  });
  render();
}

let info = { meshUrl: "", weftTarget: "" };
let eventTail: EventTail | undefined;
let explorer: ReturnType<typeof createExplorer> | undefined;

function renderMethods(snapshot: MeshSnapshot): void {
  const tbody = $("methods").querySelector("tbody")!;
  const rows = methodsOf(snapshot).filter((m) => !m.service.startsWith("weft.mesh.") && !m.service.startsWith("grpc."));
  const seen = new Set<string>();
  const trs = rows.map((m) => {
    const key = `${m.service}/${m.method}`;
    seen.add(key);
    const tr = document.createElement("tr");
    tr.dataset.method = key;
    tr.innerHTML = `<td>${esc(m.service)}</td><td>${esc(m.method)}</td><td class="num">${format.rate(m.rate)}</td><td class="num">${format.percent(m.success)}</td><td class="num">${format.ms(m.p50Ms)}</td><td class="num">${format.ms(m.p95Ms)}</td><td class="num">${format.ms(m.p99Ms)}</td><td></td>`;
    let spark = state.methodSparks.get(key);
    if (spark === undefined) {
      spark = createSparkline({ width: 140, height: 28, color: "#3b6ea5", label: `${key} calls/s` });
      state.methodSparks.set(key, spark);
    }
    const series = sumSeries(snapshot.series, (s) => s.service === m.service && s.method === m.method);
    spark.update(series.seconds, series.calls);
    tr.lastElementChild!.append(spark.element);
    return tr;
  });
  for (const [key, spark] of state.methodSparks) if (!seen.has(key)) (spark.destroy(), state.methodSparks.delete(key));
  tbody.replaceChildren(...trs);
}

function renderInstances(snapshot: MeshSnapshot): void {
  const uptime = (ms: bigint) => {
    const s = Number(ms) / 1000;
    return s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`;
  };
  // Who ejected whom: each instance reports the endpoints its own mesh client has ejected.
  const ejectedBy = (id: string) => snapshot.instances.filter((o) => o.ejectedInstances.includes(id)).map((o) => o.instanceId);
  $("instances").querySelector("tbody")!.innerHTML = snapshot.instances
    .map((i) => `<tr data-instance="${esc(i.instanceId)}"><td>${esc(i.instanceId)}</td><td>${esc(i.address)}</td><td>${esc(i.version)}</td><td class="num">${uptime(i.uptimeMs)}</td><td>${i.draining ? "draining" : i.ready ? "ready" : "not ready"}</td><td class="num">${i.inFlight}</td><td class="num">${(i.eventLoopDelayUs / 1000).toFixed(1)} ms</td><td class="num">${i.workerQueueDepth}</td><td class="num">${i.concurrencyLimit || "-"}</td><td class="${ejectedBy(i.instanceId).length > 0 ? "bad" : ""}">${ejectedBy(i.instanceId).map(esc).join(", ") || "-"}</td><td>${i.services.filter((s) => !s.name.startsWith("grpc.")).map((s) => esc(s.name.slice(s.name.lastIndexOf(".") + 1))).join(", ")}</td></tr>`)
    .join("");
}

function renderStreams(): void {
  $("streams").querySelector("tbody")!.innerHTML = state.streams
    .flatMap((s): { s: EventStreamStats; c: ConsumerStats | undefined }[] => (s.consumers.length === 0 ? [{ s, c: undefined }] : s.consumers.map((c) => ({ s, c }))))
    .map(({ s, c }) => `<tr data-stream="${esc(s.name)}"><td>${esc(s.name)}</td><td>${c ? esc(c.name) : "-"}</td><td class="num">${s.messages}</td><td class="num">${c?.pending ?? "-"}</td><td class="num">${c?.ackPending ?? "-"}</td><td class="num">${c?.redelivered ?? "-"}</td><td class="num ${c && c.deadLettered > 0n ? "bad" : ""}">${c?.deadLettered ?? "-"}</td><td class="num">${c?.lagMessages ?? "-"}</td><td class="num">${c ? c.lagSeconds.toFixed(1) : "-"}</td></tr>`)
    .join("");
}

function render(): void {
  const snapshot = state.snapshot;
  if (snapshot === undefined) return;
  if (state.page === "topology") {
    state.topology ??= import("./topology.ts").then((m) => m.createTopology($("graph"), $("side")));
    void state.topology.then((t) => t.update(snapshot, readObjectives()));
  } else if (state.page === "services") renderMethods(snapshot);
  else if (state.page === "instances") renderInstances(snapshot);
  else if (state.page === "events") renderStreams();
  else if (state.page === "explorer") void explorer?.then((e) => e.setInstances(snapshot.instances.map((i) => i.instanceId)));
}

/** Follows WatchMesh; reconnects after a second when the stream ends or fails. */
async function watch(): Promise<void> {
  state.watch?.abort();
  const abort = new AbortController();
  state.watch = abort;
  const live = $("live");
  while (!abort.signal.aborted) {
    try {
      for await (const res of admin.watchMesh({ windowSeconds: state.windowSeconds, intervalMs: 1000, series: true }, { signal: abort.signal })) {
        if (res.snapshot === undefined || state.paused) continue;
        state.snapshot = res.snapshot;
        live.dataset.state = "live";
        live.textContent = `live · ${res.snapshot.instances.length} instance(s) · ${new Date(Number(res.snapshot.takenAtMs)).toLocaleTimeString()}`;
        render();
      }
    } catch (err) {
      if (abort.signal.aborted) return;
      live.dataset.state = "error";
      live.textContent = `disconnected: ${(err as Error).message}`;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function pollStreams(): Promise<void> {
  try {
    const res = await admin.getEventStreams({});
    $("events-note").textContent = !res.available
      ? "No JetStream here (npm start keeps its events in memory): nothing to list."
      : res.truncated
        ? `The first ${res.streams.length} streams by name; more exist (weft events report --prefix NAME lists the others).`
        : "";
    state.streams = res.streams.filter((s) => !s.name.endsWith("_DLQ"));
    // Dead-letter streams can be tailed too: that is where a failing consumer's messages go.
    eventTail?.setStreams(res.streams.map((s) => s.name));
    if (state.topology !== undefined) void state.topology.then((t) => t.setStreams(state.streams));
    if (state.page === "events") renderStreams();
  } catch {
    // shown by the watch's status
  }
}

async function start(): Promise<void> {
  restoreObjectives();
  eventTail = createEventTail(admin, {
    stream: $<HTMLSelectElement>("tail-stream"),
    subject: $<HTMLInputElement>("tail-subject"),
    last: $<HTMLInputElement>("tail-last"),
    start: $<HTMLButtonElement>("tail-start"),
    pause: $<HTMLButtonElement>("tail-pause"),
    status: $("tail-status"),
    body: $("tail").querySelector("tbody")!,
  });
  for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) b.addEventListener("click", () => showPage(b.dataset.page!));
  for (const id of ["slo-success", "slo-p99"]) {
    $(id).addEventListener("change", () => {
      localStorage.setItem(OBJECTIVES_KEY, JSON.stringify({ success: Number($<HTMLInputElement>("slo-success").value), p99: Number($<HTMLInputElement>("slo-p99").value) }));
      render();
    });
  }
  $("pause").addEventListener("click", () => {
    state.paused = !state.paused;
    $("pause").setAttribute("aria-pressed", String(state.paused));
    $("pause").textContent = state.paused ? "Resume" : "Pause";
    if (state.paused) $("live").dataset.state = "paused";
  });
  $<HTMLSelectElement>("window").addEventListener("change", (e) => {
    state.windowSeconds = Number((e.target as HTMLSelectElement).value);
    void watch();
  });
  try {
    info = (await (await fetch(new URL("./info.json", location.href))).json()) as typeof info;
  } catch {
    // the copied commands then lack the mesh's address
  }
  void watch();
  void pollStreams();
  setInterval(() => void pollStreams(), STREAMS_EVERY_MS);
}

void start();
