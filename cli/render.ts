// Output of the CLI: aligned tables, numbers, colours only on a terminal (and never with NO_COLOR).

/** Colours on when stdout is a terminal and NO_COLOR is unset (FORCE_COLOR=1 forces them). */
export function useColour(): boolean {
  if (process.env.NO_COLOR) return false;
  if (process.env.FORCE_COLOR === "1") return true;
  return process.stdout.isTTY === true;
}

const codes = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

/** `text` in a colour when colours are on. */
export function paint(on: boolean, colour: keyof typeof codes, text: string): string {
  return on ? `\x1b[${codes[colour]}m${text}\x1b[0m` : text;
}

/** Visible width (without colour escapes). */
function width(text: string): number {
  return text.replace(/\x1b\[[0-9;]*m/g, "").length;
}

/** Rows as an aligned table under `header`. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], colour: boolean): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ""))));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i] - width(c)))).join("  ");
  return [paint(colour, "bold", line(header)), ...rows.map(line)].join("\n");
}

/** A number with a few significant digits. */
export function num(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return "-";
  return n >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

/** A ratio as a percentage. */
export function pct(r: number): string {
  return `${(r * 100).toFixed(r === 0 || r === 1 ? 0 : 1)}%`;
}

/** Milliseconds as a short duration. */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** The short form of a fully-qualified service name ("shop.orders.v1.OrderService" -> "OrderService"). */
export function short(service: string): string {
  return service.slice(service.lastIndexOf(".") + 1);
}
