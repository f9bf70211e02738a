// The events page's live tail: one AdminService.TailEvents stream (Connect-Web, server streaming) for the
// chosen stream and subject filter, starting with its last N messages; the table keeps at most
// MAX_ROWS of them, newest first; pause freezes the table while messages keep arriving.

import type { Client } from "@connectrpc/connect";
import type { AdminService, TailEventsResponse } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { esc } from "./mesh-model.ts";

/** Rows the table keeps (older ones drop off). */
const MAX_ROWS = 200;

/** The tail's elements on the page. */
export interface EventTailElements {
  readonly stream: HTMLSelectElement;
  readonly subject: HTMLInputElement;
  readonly last: HTMLInputElement;
  readonly start: HTMLButtonElement;
  readonly pause: HTMLButtonElement;
  readonly status: HTMLElement;
  readonly body: HTMLTableSectionElement;
}

/** The tail: `setStreams` keeps the stream choice current. */
export interface EventTail {
  setStreams(names: readonly string[]): void;
}

/** Wires the tail's controls to `admin`. */
export function createEventTail(admin: Client<typeof AdminService>, el: EventTailElements): EventTail {
  let running: AbortController | undefined;
  let paused = false;
  let rows: TailEventsResponse[] = [];
  let arrivedWhilePaused = 0;

  const draw = () => {
    el.body.innerHTML = rows
      .map((m) => `<tr data-seq="${m.seq}" data-subject="${esc(m.subject)}"><td>${new Date(Number(m.timeUnixMs)).toLocaleTimeString()}</td><td class="num">${m.seq}</td><td>${esc(m.subject)}</td><td class="num">${m.bytes}</td><td>${esc(Object.entries(m.headers).map(([k, v]) => `${k}: ${v}`).join("; "))}</td></tr>`)
      .join("");
  };
  const status = (text: string, state: string) => {
    el.status.textContent = text;
    el.status.dataset.state = state;
  };

  const stop = () => {
    running?.abort();
    running = undefined;
    el.start.textContent = "Tail";
    el.start.setAttribute("aria-pressed", "false");
  };

  async function tail(): Promise<void> {
    stop();
    const stream = el.stream.value;
    if (stream === "") return status("choose a stream", "idle");
    const last = Math.min(1000, Math.max(0, Math.floor(Number(el.last.value) || 0)));
    const abort = new AbortController();
    running = abort;
    rows = [];
    arrivedWhilePaused = 0;
    draw();
    el.start.textContent = "Stop";
    el.start.setAttribute("aria-pressed", "true");
    status(`tailing ${stream}…`, "live");
    try {
      for await (const m of admin.tailEvents({ stream, subjectFilter: el.subject.value.trim(), last }, { signal: abort.signal })) {
        rows.unshift(m);
        if (rows.length > MAX_ROWS) rows.length = MAX_ROWS;
        if (paused) {
          arrivedWhilePaused++;
          status(`paused · ${arrivedWhilePaused} new`, "paused");
          continue;
        }
        draw();
        status(`tailing ${stream} · last seq ${m.seq}`, "live");
      }
      if (!abort.signal.aborted) status("the tail ended", "idle");
    } catch (err) {
      if (!abort.signal.aborted) status(`tail failed: ${(err as Error).message}`, "error");
    } finally {
      if (running === abort) stop();
    }
  }

  el.start.addEventListener("click", () => (running === undefined ? void tail() : stop()));
  // A new filter or stream while tailing starts over with it.
  for (const input of [el.stream, el.subject]) input.addEventListener("change", () => running !== undefined && void tail());
  el.pause.addEventListener("click", () => {
    paused = !paused;
    el.pause.setAttribute("aria-pressed", String(paused));
    el.pause.textContent = paused ? "Resume" : "Pause";
    if (!paused) {
      arrivedWhilePaused = 0;
      draw();
      if (running !== undefined) status(`tailing ${el.stream.value}`, "live");
    }
  });

  return {
    setStreams(names) {
      const current = el.stream.value;
      const wanted = ["", ...names];
      if (wanted.join("\n") === [...el.stream.options].map((o) => o.value).join("\n")) return;
      el.stream.replaceChildren(...wanted.map((n) => Object.assign(document.createElement("option"), { value: n, textContent: n === "" ? "(stream)" : n })));
      el.stream.value = names.includes(current) ? current : "";
    },
  };
}
