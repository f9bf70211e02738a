// `npm start` as a newcomer meets it: spawn `node services/start.ts`, read what it prints, paste every
// printed command into a shell, open the storefront URL (the shop's own port), then SIGTERM and expect
// a clean exit 0.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { request } from "node:http";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../../", import.meta.url));
const env = { ...process.env, PATH: `${repo}node_modules/.bin:${process.env.PATH}`, PORT: "0", NO_COLOR: "1" };

/** The shop every test of the first block talks to. */
let shop: Started;

/** A started `node services/start.ts`: the process, what it printed so far, and its exit code. */
interface Started {
  readonly child: ChildProcess;
  readonly exit: Promise<number | null>;
  /** What it printed on stdout so far. */
  output(): string;
  /** What it printed on stderr so far (the logger's errors). */
  errors(): string;
}

const started: ChildProcess[] = [];

/** Spawns `npm start`'s script with `extraEnv` (and Node flags `nodeArgs`) and waits for its banner. */
async function startShop(extraEnv: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<Started> {
  const proc = spawn(process.execPath, [...nodeArgs, "services/start.ts"], { cwd: repo, env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
  started.push(proc);
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  let out = "";
  let err = "";
  proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const deadline = Date.now() + 45_000;
  while (!out.includes("SIGTERM drains")) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${out}\n${err}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child: proc, exit: exited, output: () => out, errors: () => err };
}

beforeAll(async () => {
  shop = await startShop();
});

afterAll(() => {
  for (const proc of started) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
});

/**
 * GET with the path sent exactly as written (fetch and URL would resolve "..", "%2e%2e" and the like
 * before sending, so a traversal attempt never leaves the client).
 */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: "GET", agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** The commands printed under "Try:", each the line after a "# title" line. */
function printedCommands(): string[] {
  const lines = shop.output().split("\n");
  return lines.flatMap((line, i) => (line.trimStart().startsWith("# ") ? [lines[i + 1].trim()] : []));
}

describe("npm start", () => {
  it("prints the shop URL, the storefront URL (the same port) and three commands", () => {
    expect(shop.output()).toMatch(/Weft shop: http:\/\/127\.0\.0\.1:\d+\n/);
    const shopUrl = /Weft shop: (\S+)/.exec(shop.output())![1];
    expect(/storefront page: (\S+)/.exec(shop.output())![1]).toBe(`${shopUrl}/`);
    const commands = printedCommands();
    expect(commands).toHaveLength(3);
    expect(commands[0]).toMatch(/^curl /);
    expect(commands[1]).toMatch(/^npx buf curl .*--protocol grpc .*--reflect /);
    expect(commands[2]).toMatch(/grpc\.health\.v1\.Health\/Check/);
  });

  it("every printed command works when pasted into a shell", async () => {
    const [connectJson, bufCurl, health] = printedCommands();
    const viaCurl = JSON.parse((await run("/bin/sh", ["-c", connectJson], { cwd: repo, env })).stdout);
    expect(viaCurl.products.length).toBeGreaterThan(0);
    for (const view of viaCurl.products) expect(view.product.name.toLowerCase()).toContain("kettle");
    const viaGrpc = JSON.parse((await run("/bin/sh", ["-c", bufCurl], { cwd: repo, env, timeout: 30_000 })).stdout);
    expect(viaGrpc.products.map((v: { product: { id: string } }) => v.product.id)).toEqual(
      viaCurl.products.map((v: { product: { id: string } }) => v.product.id),
    );
    expect(JSON.parse((await run("/bin/sh", ["-c", health], { cwd: repo, env })).stdout)).toEqual({ status: "SERVING" });
  });

  it("serves the storefront page and its assets on the shop's port, with their content types", async () => {
    const url = /storefront page: (\S+)/.exec(shop.output())![1];
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-cache");
    const html = await response.text();
    expect(html).toContain("<title>Weft shop</title>");
    // Vite's bundle: one script and one style sheet, content-hashed under ./assets/.
    const script = /<script [^>]*src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    const style = /<link [^>]*href="\.\/(assets\/[^"]+\.css)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    for (const [asset, type] of [
      [script, "text/javascript; charset=utf-8"],
      [style, "text/css; charset=utf-8"],
    ] as const) {
      const reply = await fetch(new URL(asset!, url));
      expect(reply.status).toBe(200);
      expect(reply.headers.get("content-type")).toBe(type);
      expect(reply.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect((await reply.text()).length).toBeGreaterThan(100);
    }
    const head = await fetch(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("text/html; charset=utf-8");
  });

  it("refuses paths that try to leave the page's folder", async () => {
    const url = /Weft shop: (\S+)/.exec(shop.output())![1];
    const attempts = [
      "/../package.json",
      "/%2e%2e/package.json",
      "/../../package.json",
      "/%2e%2e/%2e%2e/package.json",
      "/assets/..%2f..%2f..%2fpackage.json",
      "/assets/%2E%2E/%2E%2E/%2E%2E/package.json",
      "/..%5c..%5cpackage.json",
      "/package.json",
      "/.gitignore",
    ];
    for (const path of attempts) {
      const reply = await rawGet(url, path);
      expect([400, 404], path).toContain(reply.status);
      expect(reply.body, path).not.toContain('"name": "weft"');
    }
  });

  it("drains on SIGTERM: sign-ups hashing on the worker pool finish, then it exits 0", async () => {
    // A shop of its own: the shared one must keep serving whichever tests run after this one.
    const shop = await startShop();
    const url = /Weft shop: (\S+)/.exec(shop.output())![1];
    let completed = 0;
    let killed = false;
    const signUps = Array.from({ length: 12 }, (_, i) =>
      fetch(`${url}/shop.gateway.v1.GatewayService/SignUp`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: `drain-${i}-${Date.now()}@example.com`, password: "drain-password", displayName: `D${i}` }),
      }).then(async (response) => ({ status: response.status, afterKill: killed, body: (await response.json()) as { accessToken?: string; code?: string } }))
        .finally(() => completed++),
    );
    // SIGTERM once the first sign-up is done, while the others hash on the worker pool. Whether a
    // request reached the shop before the drain began is the client's race, not the shop's: each is
    // either served (admitted before the drain) or refused cleanly as UNAVAILABLE (arrived after it).
    const deadline = Date.now() + 10_000;
    while (completed === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    shop.child.kill("SIGTERM");
    killed = true;
    const replies = await Promise.all(signUps);
    for (const reply of replies) {
      if (reply.status === 200) expect(reply.body.accessToken?.split(".")).toHaveLength(3);
      else expect([reply.status, reply.body.code]).toEqual([503, "unavailable"]);
    }
    // The drain waited for calls in flight: at least one finished after the signal, served.
    expect(replies.filter((r) => r.afterKill && r.status === 200).length).toBeGreaterThan(0);
    expect(await shop.exit).toBe(0);
    expect(shop.output()).toContain('"message":"drained"');
  });
});

describe("npm start configuration", () => {
  it("WEB=off leaves the page out: the API still answers and GET / is a Connect 404", async () => {
    const pageless = await startShop({ WEB: "off" });
    const out = pageless.output();
    expect(out).toContain("storefront page: off (WEB=off)");
    const url = /Weft shop: (\S+)/.exec(out)![1];
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(404);
    expect(await page.json()).toMatchObject({ code: "unimplemented" });
    const health = await fetch(`${url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(await health.json()).toEqual({ status: "SERVING" });
    pageless.child.kill("SIGTERM");
    expect(await pageless.exit).toBe(0);
  });

  it("starts the API when the page's build fails, and says so", async () => {
    // A module hook makes `import "vite"` fail, as a broken or missing Vite would.
    const hook = `import { registerHooks } from "node:module";
      registerHooks({ resolve(spec, ctx, next) { if (spec === "vite") throw new Error("vite unavailable (test)"); return next(spec, ctx); } });`;
    const broken = await startShop({}, ["--import", `data:text/javascript,${encodeURIComponent(hook)}`]);
    const out = broken.output();
    expect(broken.errors()).toContain('"message":"storefront page not served","error":"vite unavailable (test)"');
    expect(out).toContain("storefront page: not served (its build failed, see the error above)");
    const url = /Weft shop: (\S+)/.exec(out)![1];
    const health = await fetch(`${url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(await health.json()).toEqual({ status: "SERVING" });
    expect((await fetch(`${url}/`)).status).toBe(404);
    broken.child.kill("SIGTERM");
    expect(await broken.exit).toBe(0);
  });

  it("refuses the retired WEB_PORT instead of ignoring it", async () => {
    const failed = await run(process.execPath, ["services/start.ts"], { cwd: repo, env: { ...env, WEB_PORT: "8081" } }).catch((err) => err);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("WEFT_ERR_SHOP_CONFIG: WEB_PORT is no longer used: the storefront page is served on PORT; set WEB=off to disable it");
  });

  it("refuses a bad PORT with a stable code naming the variable", async () => {
    const failed = await run(process.execPath, ["services/start.ts"], { cwd: repo, env: { ...env, PORT: "eighty" } }).catch((err) => err);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('WEFT_ERR_SHOP_CONFIG: PORT is "eighty", set PORT to a port number from 0 to 65535');
  });
});
