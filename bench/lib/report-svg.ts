// A hand-written SVG bar chart of the medians, with the min–max range of the runs as a whisker. Each
// group has its own scale (req/s of different protocols are not comparable with each other).

import type { BenchResults } from "./run-bench.ts";
import { formatRate } from "./report-md.ts";
import type { ScenarioGroup } from "./scenarios.ts";

const WIDTH = 960;
const LABEL_WIDTH = 360;
const BAR_AREA = 470;
const ROW = 26;
const TITLES: Record<ScenarioGroup, string> = {
  grpc: "gRPC over h2c, req/s (h2load -c 4 -m 16)",
  http1: "Connect JSON over HTTP/1.1, req/s (autocannon -c 64)",
  client: "Client → server, calls/s (64 in flight)",
  mtls: "Mutual TLS, client → server, calls/s (64 in flight, warm connection)",
};

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Renders the chart. */
export function renderSvg(results: BenchResults): string {
  const parts: string[] = [];
  let y = 36;
  parts.push(`<text x="12" y="22" font-size="15" font-weight="bold">Weft benchmarks, ${escape(results.startedAt)}${results.options.quick ? " (quick mode)" : ""}</text>`);
  for (const group of ["grpc", "http1", "client", "mtls"] as const) {
    const rows = results.scenarios.filter((s) => s.group === group);
    if (rows.length === 0) continue;
    y += 18;
    parts.push(`<text x="12" y="${y}" font-size="13" font-weight="bold">${escape(TITLES[group])}</text>`);
    y += 8;
    const max = Math.max(1, ...rows.map((s) => s.summary?.max ?? 0));
    for (const s of rows) {
      const sum = s.summary;
      const mid = y + ROW / 2;
      const weft = s.id.endsWith("/weft");
      parts.push(`<text x="${LABEL_WIDTH - 8}" y="${mid + 4}" font-size="12" text-anchor="end"${weft ? ' font-weight="bold"' : ""}>${escape(s.label)}</text>`);
      if (sum?.median !== undefined && sum.min !== undefined && sum.max !== undefined) {
        const w = (sum.median / max) * BAR_AREA;
        const x0 = LABEL_WIDTH + (sum.min / max) * BAR_AREA;
        const x1 = LABEL_WIDTH + (sum.max / max) * BAR_AREA;
        parts.push(`<rect x="${LABEL_WIDTH}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW - 8}" fill="${weft ? "#d9480f" : "#4263eb"}"/>`);
        parts.push(`<line x1="${x0.toFixed(1)}" y1="${mid}" x2="${x1.toFixed(1)}" y2="${mid}" stroke="#222" stroke-width="1.5"/>`);
        parts.push(`<line x1="${x0.toFixed(1)}" y1="${mid - 5}" x2="${x0.toFixed(1)}" y2="${mid + 5}" stroke="#222"/>`);
        parts.push(`<line x1="${x1.toFixed(1)}" y1="${mid - 5}" x2="${x1.toFixed(1)}" y2="${mid + 5}" stroke="#222"/>`);
        parts.push(`<text x="${(LABEL_WIDTH + Math.max(w, x1 - LABEL_WIDTH) + 6).toFixed(1)}" y="${mid + 4}" font-size="12">${formatRate(sum.median)}${sum.failedRuns > 0 ? ` (${sum.failedRuns} run(s) failed)` : ""}</text>`);
      } else {
        const text = sum?.status === "unavailable" ? "not available" : "FAILED (no verified run)";
        parts.push(`<text x="${LABEL_WIDTH + 4}" y="${mid + 4}" font-size="12" fill="#c92a2a">${text}</text>`);
      }
      y += ROW;
    }
  }
  y += 12;
  const m = results.machine;
  parts.push(`<text x="12" y="${y}" font-size="11" fill="#555">${escape(`${m.cpuModel}, ${m.cores} cores, Node ${m.node}, ${m.pinning}; bars: median, whiskers: min–max of ${results.options.runs} run(s)`)}</text>`);
  y += 12;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}
