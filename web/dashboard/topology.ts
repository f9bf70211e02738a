// The topology page: services and NATS streams as nodes, caller -> service edges labelled with rate,
// p99 and success, red when an edge breaches its objectives; service -> stream (publishes) and stream ->
// service (consumes) edges from the instances' event flows. cytoscape and dagre load on first use; the
// layout runs only when a node appears or goes, so the picture does not move each second.

import type { Core, ElementDefinition } from "cytoscape";
import type { EventStreamStats, MeshSnapshot } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { breaches, type Edge, edgeId, esc, edgesOf, eventEdgesOf, format, type Objectives, OUTSIDE, servicesOf, shortName, STREAM_PREFIX, sumSeries } from "./mesh-model.ts";
import { createSparkline, type Sparkline } from "./sparkline.ts";

/** The topology page's handle. */
export interface Topology {
  /** Redraws labels and colours from a snapshot (and the streams last listed). */
  update(snapshot: MeshSnapshot, objectives: Objectives): void;
  /** Sets the NATS streams shown as nodes. */
  setStreams(streams: readonly EventStreamStats[]): void;
}

async function loadCytoscape(): Promise<typeof import("cytoscape")> {
  const [{ default: cytoscape }, { default: dagre }] = await Promise.all([import("cytoscape"), import("cytoscape-dagre")]);
  cytoscape.use(dagre);
  return cytoscape;
}

/** Mounts the graph in `container` and the figures of the selection in `side`. */
export async function createTopology(container: HTMLElement, side: HTMLElement): Promise<Topology> {
  const cytoscape = await loadCytoscape();
  const cy: Core = cytoscape({
    container,
    minZoom: 0.3,
    maxZoom: 1.4,
    wheelSensitivity: 0.3,
    // Large meshes: one device pixel per CSS pixel and a cached texture while panning keep frames cheap.
    pixelRatio: 1,
    textureOnViewport: true,
    style: [
      { selector: "node", style: { label: "data(label)", "background-color": "#3b6ea5", color: "#1d2733", "font-size": 12, "text-valign": "bottom", "text-margin-y": 4, width: 28, height: 28 } },
      { selector: "node.outside", style: { "background-color": "#8a94a3", shape: "round-rectangle" } },
      { selector: "node.stream", style: { "background-color": "#a07a2c", shape: "barrel" } },
      { selector: "node:selected", style: { "border-width": 3, "border-color": "#f0a500" } },
      {
        selector: "edge",
        style: {
          label: "data(label)", "font-size": 10, "min-zoomed-font-size": 7, color: "#1d2733", "text-background-color": "#ffffff", "text-background-opacity": 0.85, "text-background-padding": "2px",
          "curve-style": "bezier", "target-arrow-shape": "triangle", "line-color": "#4a9d5b", "target-arrow-color": "#4a9d5b", width: 2,
        },
      },
      { selector: "edge.idle", style: { "line-color": "#c3c9d1", "target-arrow-color": "#c3c9d1", "line-style": "dashed" } },
      { selector: "edge.event", style: { "line-color": "#a07a2c", "target-arrow-color": "#a07a2c", "line-style": "dotted", width: 2 } },
      { selector: "edge.breach", style: { "line-color": "#d0342c", "target-arrow-color": "#d0342c", width: 3.5, color: "#a4241e" } },
      { selector: "edge:selected", style: { "overlay-opacity": 0.15, "overlay-color": "#f0a500" } },
    ],
  });
  let streams: readonly EventStreamStats[] = [];
  let last: { snapshot: MeshSnapshot; objectives: Objectives } | undefined;
  let selected: string | undefined;
  const sparks: Sparkline[] = [];

  cy.on("tap", "node, edge", (e) => {
    selected = e.target.id();
    if (last !== undefined) renderSide(last.snapshot, last.objectives);
  });
  cy.on("tap", (e) => {
    // A tap on the graph's background clears the selection (cytoscape also sees clicks elsewhere on the page).
    const origin = (e.originalEvent as Event | undefined)?.target;
    if (e.target === cy && origin instanceof Node && container.contains(origin)) {
      selected = undefined;
      if (last !== undefined) renderSide(last.snapshot, last.objectives);
    }
  });

  let renderedFor: string | undefined;

  // The edges as a list too: a keyboard (or a script) can pick one without aiming at the canvas. Rows
  // are kept and their text updated, so a row does not move under the pointer each second.
  function renderEdgeList(snapshot: MeshSnapshot, objectives: Objectives): void {
    let list = side.querySelector<HTMLUListElement>("ul.edge-list");
    if (renderedFor !== undefined || list === null) {
      for (const s of sparks.splice(0)) s.destroy();
      renderedFor = undefined;
      side.replaceChildren();
      side.innerHTML = `<p class="hint">Click a service or an edge for its figures.</p>`;
      list = document.createElement("ul");
      list.className = "edge-list";
      side.append(list);
    }
    const edges = edgesOf(snapshot);
    const rows = new Map([...list.querySelectorAll<HTMLButtonElement>("button")].map((b) => [b.dataset.edge!, b]));
    for (const e of edges) {
      let button = rows.get(e.id);
      if (button === undefined) {
        button = document.createElement("button");
        button.type = "button";
        button.dataset.edge = e.id;
        button.addEventListener("click", () => {
          selected = e.id;
          cy.elements().unselect();
          cy.getElementById(e.id).select();
          if (last !== undefined) renderSide(last.snapshot, last.objectives);
        });
        const li = document.createElement("li");
        li.append(button);
        list.append(li);
      }
      rows.delete(e.id);
      button.className = breaches(e, objectives) ? "bad" : "";
      button.textContent = `${shortName(e.caller)} → ${shortName(e.service)}: ${format.rate(e.rate)}/s`;
    }
    for (const gone of rows.values()) gone.parentElement!.remove();
  }

  function renderSide(snapshot: MeshSnapshot, objectives: Objectives): void {
    // The same selection keeps its charts and swaps their data: no flicker each second.
    if (selected !== undefined && selected === renderedFor && sparks.length > 0) {
      const edge = edgesOf(snapshot).find((e) => e.id === selected);
      const figures = side.querySelector("dl");
      if (edge !== undefined && figures !== null) figures.innerHTML = edgeFigures(edge, objectives);
      const service = selected;
      const series = sumSeries(snapshot.series, edge !== undefined ? (s) => (s.caller || OUTSIDE) === edge.caller && s.service === edge.service : (s) => s.service === service);
      [series.calls, series.errors, series.p99Ms].forEach((values, i) => sparks[i].update(series.seconds, values));
      return;
    }
    if (selected === undefined) {
      renderEdgeList(snapshot, objectives);
      return;
    }
    renderedFor = selected;
    for (const s of sparks.splice(0)) s.destroy();
    side.replaceChildren();
    const edge = edgesOf(snapshot).find((e) => e.id === selected);
    const eventEdge = edge === undefined ? eventEdgesOf(snapshot).find((e) => e.id === selected) : undefined;
    const title = document.createElement("h2");
    side.append(title);
    let keep: Parameters<typeof sumSeries>[1];
    if (eventEdge !== undefined) {
      const service = eventEdge.direction === "publish" ? eventEdge.source : eventEdge.target;
      title.textContent = `${shortName(service)} ${eventEdge.direction === "publish" ? "publishes to" : "consumes from"} ${eventEdge.stream}`;
      const dl = document.createElement("dl");
      dl.innerHTML = `<dt>events</dt><dd>${eventEdge.eventTypes.map((t) => esc(shortName(t))).join(", ")}</dd><dt>messages</dt><dd>${eventEdge.messages} since the instances started</dd>`;
      side.append(dl);
      return;
    } else if (edge !== undefined) {
      title.textContent = `${shortName(edge.caller)} → ${shortName(edge.service)}`;
      const dl = document.createElement("dl");
      dl.innerHTML = edgeFigures(edge, objectives);
      side.append(dl);
      keep = (s) => (s.caller || OUTSIDE) === edge.caller && s.service === edge.service;
    } else if (selected.startsWith(STREAM_PREFIX)) {
      const stream = streams.find((s) => STREAM_PREFIX + s.name === selected);
      title.textContent = `stream ${selected.slice(STREAM_PREFIX.length)}`;
      const list = document.createElement("dl");
      list.innerHTML = stream === undefined ? "" : `<dt>messages</dt><dd>${stream.messages}</dd>` + stream.consumers.map((c) => `<dt>${esc(c.name)}</dt><dd>lag ${c.lagMessages} (${c.lagSeconds.toFixed(1)} s), dlq ${c.deadLettered}</dd>`).join("");
      side.append(list);
      return;
    } else {
      title.textContent = shortName(selected);
      const sub = document.createElement("p");
      sub.className = "hint";
      sub.textContent = `${selected}: calls it served`;
      side.append(sub);
      const service = selected;
      keep = (s) => s.service === service;
    }
    const series = sumSeries(snapshot.series, keep);
    for (const [label, values, color] of [["calls/s", series.calls, "#3b6ea5"], ["errors/s", series.errors, "#d0342c"], ["p99 ms", series.p99Ms, "#a07a2c"]] as const) {
      const row = document.createElement("div");
      row.className = "spark-row";
      row.textContent = label;
      const spark = createSparkline({ width: 240, height: 44, color, label });
      spark.update(series.seconds, values);
      sparks.push(spark);
      row.append(spark.element);
      side.append(row);
    }
  }

  let layouts = 0;

  function update(snapshot: MeshSnapshot, objectives: Objectives): void {
    // Timed as a performance measure, so a browser profile (or bench/ops/dashboard.ts) can read it.
    performance.mark("weft-topology-update-start");
    redraw(snapshot, objectives);
    performance.measure("weft-topology-update", "weft-topology-update-start");
  }

  function redraw(snapshot: MeshSnapshot, objectives: Objectives): void {
    last = { snapshot, objectives };
    const edges = edgesOf(snapshot);
    const wanted: ElementDefinition[] = [];
    for (const s of servicesOf(snapshot)) wanted.push({ group: "nodes", data: { id: s, label: shortName(s) } });
    if (edges.some((e) => e.caller === OUTSIDE)) wanted.push({ group: "nodes", data: { id: OUTSIDE, label: "outside" }, classes: "outside" });
    for (const st of streams) wanted.push({ group: "nodes", data: { id: STREAM_PREFIX + st.name, label: `${st.name} (${st.messages})` }, classes: "stream" });
    const eventEdges = eventEdgesOf(snapshot);
    // A stream an instance uses but the last listing has not shown yet still gets its node.
    for (const name of new Set(eventEdges.map((e) => e.stream))) if (!streams.some((st) => st.name === name)) wanted.push({ group: "nodes", data: { id: STREAM_PREFIX + name, label: name }, classes: "stream" });
    for (const e of eventEdges) wanted.push({ group: "edges", data: { id: e.id, source: e.source, target: e.target, label: `${e.direction === "publish" ? "publishes" : "consumes"} · ${e.messages}` }, classes: "event" });
    for (const e of edges) wanted.push({ group: "edges", data: { id: edgeId(e.caller, e.service), source: e.caller, target: e.service, label: `${format.rate(e.rate)}/s · p99 ${format.ms(e.p99Ms)} · ${format.percent(e.success)}` } });

    const ids = new Set(wanted.map((w) => w.data.id!));
    let changed = false;
    cy.batch(() => {
      cy.elements().forEach((el) => {
        if (!ids.has(el.id())) {
          el.remove();
          changed = true;
        }
      });
      for (const w of wanted) {
        const existing = cy.getElementById(w.data.id!);
        if (existing.empty()) {
          if (w.group === "edges" && (cy.getElementById(w.data.source!).empty() || cy.getElementById(w.data.target!).empty())) continue;
          cy.add(w);
          changed = true;
        } else existing.data("label", w.data.label);
      }
      for (const e of edges) {
        const el = cy.getElementById(edgeId(e.caller, e.service));
        el.toggleClass("breach", breaches(e, objectives));
        el.toggleClass("idle", e.calls === 0);
        el.data("rate", e.rate);
        el.data("breach", breaches(e, objectives) ? "yes" : "no");
      }
    });
    if (changed) {
      cy.layout({ name: "dagre", rankDir: "LR", nodeSep: 40, rankSep: 140, animate: false } as never).run();
      container.dataset.layouts = String(++layouts);
    }
    container.dataset.nodes = String(cy.nodes().length);
    container.dataset.edges = String(cy.edges().length);
    publishForTests(container, edges.map((e) => ({ id: e.id, rate: e.rate, success: e.success, p99Ms: e.p99Ms, breach: breaches(e, objectives) })), cy.nodes().map((n) => n.id()), eventEdges.map((e) => ({ id: e.id, direction: e.direction, messages: e.messages })));
    renderSide(snapshot, objectives);
  }

  return {
    update,
    setStreams(list) {
      streams = list;
      if (last !== undefined) update(last.snapshot, last.objectives);
    },
  };
}

function edgeFigures(edge: Edge, objectives: Objectives): string {
  const bad = breaches(edge, objectives);
  return `<dt>rate</dt><dd>${format.rate(edge.rate)}/s</dd><dt>success</dt><dd>${format.percent(edge.success)}</dd><dt>p50 / p95 / p99</dt><dd>${format.ms(edge.p50Ms)} / ${format.ms(edge.p95Ms)} / ${format.ms(edge.p99Ms)}</dd><dt>calls in window</dt><dd>${edge.calls} (${edge.errors} failed)</dd><dt>objective</dt><dd class="${bad ? "bad" : "ok"}">${bad ? "breached" : "met"}</dd>`;
}

/** The drawn state as JSON in a data attribute: what an operator's script or a test reads off the page. */
function publishForTests(container: HTMLElement, edges: unknown[], nodes: string[], eventEdges: unknown[]): void {
  container.dataset.state = JSON.stringify({ nodes, edges, eventEdges });
}
