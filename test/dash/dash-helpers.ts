// What the dashboard tests share: `weft dash` started as an operator runs it, headless Chromium, and
// the topology's drawn state (the graph publishes it as JSON on its container), polled until it holds.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { repo, WEFT_BIN } from "../cli/cli-helpers.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

/** Where screenshots go (git-ignored). */
export const ARTIFACTS = join(repo, "test-artifacts", "dashboard");

/** A running `weft dash`. */
export interface RunningDash {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts `weft dash ...args --json` and returns the URL it prints. */
export async function startDash(args: readonly string[], env: NodeJS.ProcessEnv): Promise<RunningDash> {
  const dash: ChildProcess = spawn(process.execPath, [WEFT_BIN, "dash", ...args, "--json"], { cwd: repo, env: { ...process.env, NATS_URL: "", WEFT_URL: "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  dash.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`weft dash printed no URL: ${out} ${err}`)), 60_000);
    dash.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    dash.on("exit", (code) => reject(new Error(`weft dash exited with ${code}: ${err}`)));
  });
  return {
    url,
    stop: async () => {
      if (dash.exitCode !== null || dash.signalCode !== null) return;
      const exited = new Promise((r) => dash.once("exit", r));
      dash.kill("SIGINT");
      await exited;
    },
  };
}

/** Debian's Chromium, and a page whose errors are collected in `errors`. */
export async function openBrowser(): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package or set CHROMIUM_PATH`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 720 } });
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return { browser, page, errors };
}

export interface DrawnEdge {
  id: string;
  rate: number;
  success: number;
  p99Ms: number;
  breach: boolean;
}
export interface Drawn {
  nodes: string[];
  edges: DrawnEdge[];
  /** service -> stream (publish) and stream -> service (consume) edges. */
  eventEdges?: { id: string; direction: "publish" | "consume"; messages: number }[];
}

/** What the topology drew last. */
export async function drawn(page: Page): Promise<Drawn> {
  const state = await page.locator("#graph").getAttribute("data-state");
  return state === null ? { nodes: [], edges: [] } : (JSON.parse(state) as Drawn);
}

/** Polls the drawn topology until `ok` holds (the page redraws each second). */
export async function waitForDrawn(page: Page, ok: (d: Drawn) => boolean, what: string, timeoutMs = 20_000): Promise<Drawn> {
  const deadline = Date.now() + timeoutMs;
  let last = await drawn(page);
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`the topology never showed ${what}; last drawn: ${JSON.stringify(last)}`);
    await page.waitForTimeout(250);
    last = await drawn(page);
  }
  return last;
}

/** The drawn edge from `from` to `to`. */
export const edgeOf = (d: Drawn, from: string, to: string): DrawnEdge | undefined => d.edges.find((e) => e.id === `${from}->${to}`);
