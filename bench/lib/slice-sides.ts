// The sides of a paired measurement (paired-slices.ts) for `npm run bench`'s three kinds of load: h2load
// (C, no warm-up of its own) started once per slice, autocannon and the client drivers kept running in
// slice mode (autocannon-slices.ts, bench/clients/drive.ts) so their JIT stays warm between slices. Every slice is checked
// as a measured run is (run-scenario.ts): a slice with a problem fails the measurement.

import { fileURLToPath } from "node:url";
import { checkAutocannon, parseAutocannon } from "./autocannon.ts";
import { BENCH_PATH, grpcResponseFrame, jsonRequestBody, jsonResponseBody } from "./bench-request.ts";
import { checkH2load, runH2load } from "./h2load.ts";
import type { SliceResult, SliceSide } from "./paired-slices.ts";
import { CpuWindow, LOAD_CORE, startLineChild, type LineChild } from "./processes.ts";

/** CPU microseconds per call from a share of a core over a window and the window's rate. */
function usPerCall(share: number | undefined, rate: number): number | undefined {
  return share === undefined || rate <= 0 ? undefined : Math.round((share / rate) * 1e7) / 10;
}

/** Fewest requests of one h2load slice (a few per stream). */
const H2LOAD_MIN_REQUESTS = 256;

/**
 * h2load against the server on `port`: the first slice is timed, later ones send the number of requests
 * the last rate gives for the slice, so that every request completes and the frame count is exact.
 */
export function h2loadSide(port: number, serverPid: number, grpcBodyFile: string): SliceSide {
  const url = `http://127.0.0.1:${port}${BENCH_PATH}`;
  let lastRate = 0;
  return {
    async slice(ms) {
      const amount = lastRate > 0 ? { requests: Math.max(H2LOAD_MIN_REQUESTS, Math.round((lastRate * ms) / 1000)) } : { seconds: ms / 1000 };
      let window: CpuWindow | undefined;
      try {
        const report = await runH2load(url, grpcBodyFile, amount, (pid) => {
          window = new CpuWindow({ server: serverPid, load: pid });
          window.begin();
        });
        window?.end();
        lastRate = report.reqPerSec;
        return sliceOf(report.reqPerSec, checkH2load(report, grpcResponseFrame.length, "requests" in amount), window);
      } catch (error) {
        window?.end();
        return { rate: 0, problems: [String((error as Error).message ?? error)] };
      }
    },
  };
}

const AUTOCANNON_SLICES = fileURLToPath(new URL("./autocannon-slices.ts", import.meta.url));

/**
 * autocannon with the Connect JSON request against the server on `port`, every body checked: one process
 * kept warm on the load core (autocannon-slices.ts), one programmatic run per slice.
 */
export async function autocannonSide(port: number, serverPid: number, nodeFlags: readonly string[] = []): Promise<ProcessSide> {
  const url = `http://127.0.0.1:${port}${BENCH_PATH}`;
  const driver = startLineChild(AUTOCANNON_SLICES, ["--url", url, "--body", jsonRequestBody, "--expect-body", jsonResponseBody], LOAD_CORE, nodeFlags);
  await awaitReady(driver);
  return {
    driver,
    async slice(ms) {
      const window = new CpuWindow({ server: serverPid, load: driver.pid });
      window.begin();
      driver.send({ slice: ms });
      try {
        const line = await driver.next((l) => l.slice === true, ms + 30_000);
        window.end();
        const report = parseAutocannon(JSON.stringify(line.result));
        return sliceOf(report.reqPerSec, checkAutocannon(report), window);
      } catch (error) {
        window.end();
        return { rate: 0, problems: [String((error as Error).message ?? error)] };
      }
    },
    stop: () => stopDriver(driver),
  };
}

/** Waits for a slice-mode child's `{"phase":"ready"}` (stopping it when it fails instead). */
async function awaitReady(driver: LineChild): Promise<void> {
  const ready = await driver.next((line) => line.phase === "ready" || "unavailable" in line || "callsPerSec" in line, DRIVER_READY_MS).catch(async (error: unknown) => {
    await driver.stop();
    throw error;
  });
  if (ready.phase !== "ready") {
    await driver.stop();
    throw new Error("unavailable" in ready ? `not available: ${String(ready.unavailable)}` : `client driver failed its first call: ${String(ready.firstError)}`);
  }
}

async function stopDriver(driver: LineChild): Promise<void> {
  driver.send({ end: true });
  await driver.stop();
}

function sliceOf(rate: number, problems: readonly string[], window: CpuWindow | undefined): SliceResult {
  const server = usPerCall(window?.result.server, rate);
  const load = usPerCall(window?.result.load, rate);
  return { rate, problems, ...(server === undefined && load === undefined ? {} : { usPerCall: { ...(server === undefined ? {} : { server }), ...(load === undefined ? {} : { load }) } }) };
}

/** A side driven by a child process kept running between slices (a client driver, autocannon); `stop()` ends it. */
export interface ProcessSide extends SliceSide {
  readonly driver: LineChild;
  stop(): Promise<void>;
}

/** How long a client driver may take to connect and answer its first checked call. */
const DRIVER_READY_MS = 20_000;

/**
 * A client driver (`bench/clients/*.ts` or any script built on drive.ts) on the load core, calling the
 * server on `port` with `concurrency` calls in flight during each slice and none between slices.
 */
export async function clientSide(options: {
  readonly script: string;
  readonly port: number;
  readonly serverPid: number;
  readonly concurrency: number;
  readonly nodeFlags?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** The core the driver runs on. Default: the load core. */
  readonly core?: number;
}): Promise<ProcessSide> {
  const driver = startLineChild(
    options.script,
    ["--port", String(options.port), "--concurrency", String(options.concurrency), "--warmup-ms", "0", "--duration-ms", "0", "--slices", ...(options.args ?? [])],
    options.core ?? LOAD_CORE,
    options.nodeFlags,
    options.env,
  );
  await awaitReady(driver);
  return {
    driver,
    async slice(ms) {
      const window = new CpuWindow({ server: options.serverPid });
      window.begin();
      driver.send({ slice: ms });
      try {
        const report = await driver.next((line) => line.slice === true, ms + 30_000);
        window.end();
        const rate = Number(report.callsPerSec);
        const problems = Number(report.failed) > 0 ? [`${String(report.failed)} calls failed or answered wrongly (first: ${String(report.firstError)})`] : Number(report.calls) === 0 ? ["no call completed in the slice"] : [];
        const server = usPerCall(window.result.server, rate);
        const load = typeof report.clientUsPerCall === "number" ? report.clientUsPerCall : undefined;
        return { rate, problems, ...(server === undefined && load === undefined ? {} : { usPerCall: { ...(server === undefined ? {} : { server }), ...(load === undefined ? {} : { load }) } }) };
      } catch (error) {
        window.end();
        return { rate: 0, problems: [String((error as Error).message ?? error)] };
      }
    },
    stop: () => stopDriver(driver),
  };
}
