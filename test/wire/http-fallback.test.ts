// Plain HTTP on the host's port (`httpFallback`, `serveStaticFiles`): a page and its assets next to
// the RPCs, on HTTP/1.1 and HTTP/2, with nothing outside the folder reachable, and RPC routing intact.

import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHost, HostError, serveStaticFiles } from "../../mesh/host/index.ts";
import { engines } from "./engines.ts";
import { connectGetQuery, grpcFrame, rawH2Request, startTestHost, type StartedHost } from "./harness.ts";

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** An HTTP/1.1 request whose path is sent exactly as given (fetch would normalise "..", "%2e"). */
function get(port: number, rawPath: string, options: { method?: string; headers?: http.OutgoingHttpHeaders } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: rawPath, method: options.method ?? "GET", headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
}

const SECRET = "top-secret-outside-the-root";
const INDEX = "<!doctype html><title>shop</title><script src=\"assets/app-1a2b.js\"></script>";

/** A temporary tree: root/ (the served folder) next to a secret file, plus a symlink out of root. */
function makeTree(): { dir: string; root: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "weft-static-"));
  const root = path.join(dir, "root");
  fs.mkdirSync(path.join(root, "assets"), { recursive: true });
  fs.mkdirSync(path.join(root, "docs"));
  fs.writeFileSync(path.join(root, "index.html"), INDEX);
  fs.writeFileSync(path.join(root, "assets", "app-1a2b.js"), "console.log('hi');");
  fs.writeFileSync(path.join(root, "assets", "style.css"), "body{}");
  fs.writeFileSync(path.join(root, "docs", "index.html"), "<p>docs</p>");
  fs.writeFileSync(path.join(root, "data.bin"), Buffer.from([1, 2, 3]));
  fs.writeFileSync(path.join(root, ".env"), SECRET);
  fs.writeFileSync(path.join(dir, "secret.txt"), SECRET);
  fs.symlinkSync(path.join(dir, "secret.txt"), path.join(root, "leak.txt"));
  fs.symlinkSync(dir, path.join(root, "up"));
  return { dir, root };
}

for (const engine of engines) {
  describe(`httpFallback and serveStaticFiles [${engine.name}]`, () => {
    let started: StartedHost;
    let tree: { dir: string; root: string };

    beforeAll(async () => {
      tree = makeTree();
      started = await startTestHost(engine, {
        httpFallback: serveStaticFiles({ root: tree.root, maxAgeSeconds: 600, immutablePrefixes: ["/assets/"] }),
      });
    });
    afterAll(async () => {
      await started?.host.close();
      fs.rmSync(tree.dir, { recursive: true, force: true });
    });

    it("serves the folder's index, assets and content types with cache headers", async () => {
      const page = await get(started.port, "/");
      expect(page.status).toBe(200);
      expect(page.body).toBe(INDEX);
      expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(page.headers["cache-control"]).toBe("no-cache");
      expect(page.headers["content-length"]).toBe(String(INDEX.length));
      expect(page.headers["x-content-type-options"]).toBe("nosniff");
      expect(page.headers.etag).toMatch(/^W\/"[0-9a-f]+-[0-9a-f]+"$/);
      const js = await get(started.port, "/assets/app-1a2b.js?v=1");
      expect(js.status).toBe(200);
      expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
      expect(js.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      const bin = await get(started.port, "/data.bin");
      expect(bin.headers["content-type"]).toBe("application/octet-stream");
      expect(bin.headers["cache-control"]).toBe("public, max-age=600");
      const head = await get(started.port, "/index.html", { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers["content-length"]).toBe(String(INDEX.length));
      expect(head.body).toBe("");
    });

    it("answers 304 to a matching If-None-Match or If-Modified-Since", async () => {
      const first = await get(started.port, "/assets/style.css");
      const again = await get(started.port, "/assets/style.css", { headers: { "if-none-match": first.headers.etag } });
      expect(again.status).toBe(304);
      expect(again.body).toBe("");
      const since = await get(started.port, "/assets/style.css", { headers: { "if-modified-since": first.headers["last-modified"] } });
      expect(since.status).toBe(304);
      const stale = await get(started.port, "/assets/style.css", { headers: { "if-none-match": 'W/"0-0"' } });
      expect(stale.status).toBe(200);
      expect(stale.body).toBe("body{}");
    });

    it("redirects a directory without its slash, serves its index with it", async () => {
      const bare = await get(started.port, "/docs?x=1");
      expect(bare.status).toBe(301);
      expect(bare.headers.location).toBe("/docs/?x=1");
      const dir = await get(started.port, "/docs/");
      expect(dir.status).toBe(200);
      expect(dir.body).toBe("<p>docs</p>");
      expect((await get(started.port, "/index.html/")).status).toBe(404);
    });

    it("reaches nothing outside the folder, nor hidden files", async () => {
      const attempts = [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/.env",
        "/%2eenv",
        "/assets//style.css",
        "/index.html%00.js",
        "/leak.txt",
        "/up/secret.txt",
        "/missing.html",
      ];
      for (const attempt of attempts) {
        const res = await get(started.port, attempt);
        expect([400, 404], attempt).toContain(res.status);
        expect(res.body, attempt).not.toContain(SECRET);
      }
      expect((await get(started.port, "/%E0%A4%A")).status).toBe(400);
    });

    it("serves files over HTTP/2 (prior knowledge) too", async () => {
      const res = await rawH2Request(started.url, { ":method": "GET", ":path": "/assets/app-1a2b.js" });
      expect(res.headers[":status"]).toBe(200);
      expect(res.headers["content-type"]).toBe("text/javascript; charset=utf-8");
      expect(res.body.toString()).toBe("console.log('hi');");
      const hidden = await rawH2Request(started.url, { ":method": "GET", ":path": "/%2e%2e/secret.txt" });
      expect(hidden.headers[":status"]).toBe(404);
    });

    it("leaves RPCs to the engine: POST, Connect GET, gRPC, unknown methods", async () => {
      const post = await fetch(`${started.url}/weft.testing.v1.TestService/UnaryCall`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ responseSize: 1 }),
      });
      expect(post.status).toBe(200);
      expect(await post.json()).toMatchObject({ servedBy: "wire-test" });
      const connectGet = await fetch(`${started.url}/weft.testing.v1.TestService/CacheableUnaryCall${connectGetQuery({ responseSize: 1 })}`);
      expect(connectGet.status).toBe(200);
      // A Connect GET of a method the host does not serve still gets Connect's "unimplemented".
      const unknownGet = await fetch(`${started.url}/no.Such/Method${connectGetQuery({})}`);
      expect(unknownGet.status).toBe(404);
      expect(await unknownGet.json()).toMatchObject({ code: "unimplemented" });
      // A plain GET of a served method is the engine's business (not a file).
      expect((await get(started.port, "/weft.testing.v1.TestService/UnaryCall")).status).toBe(405);
      const grpc = await rawH2Request(started.url, { ":path": "/weft.testing.v1.TestService/EmptyCall", "content-type": "application/grpc", te: "trailers" }, grpcFrame(new Uint8Array(0)));
      expect(grpc.trailers?.["grpc-status"]).toBe("0");
      const unknownGrpc = await rawH2Request(started.url, { ":path": "/no.Such/Method", "content-type": "application/grpc", te: "trailers" }, grpcFrame(new Uint8Array(0)));
      expect(unknownGrpc.headers["grpc-status"] ?? unknownGrpc.trailers?.["grpc-status"]).toBe("12");
      // POST to a page path is not a file request either.
      expect((await get(started.port, "/", { method: "POST" })).status).not.toBe(200);
      expect(started.host.inFlight).toBe(0);
    });
  });

  describe(`httpFallback handlers [${engine.name}]`, () => {
    it("answers 500 when the handler throws or rejects, logs it, and keeps serving", async () => {
      let calls = 0;
      const started = await startTestHost(engine, {
        httpFallback: async (req, res) => {
          calls++;
          if (req.url === "/throw") throw new Error("fallback exploded");
          (res as http.ServerResponse).writeHead(200, { "content-type": "text/plain" });
          res.end(`hello ${req.method}`);
        },
      });
      try {
        const bad = await get(started.port, "/throw");
        expect(bad.status).toBe(500);
        expect(bad.body).not.toContain("exploded");
        expect(started.logger.errors.map((e) => e.message)).toContain("http fallback failed");
        const ok = await get(started.port, "/anything");
        expect(ok.status).toBe(200);
        expect(ok.body).toBe("hello GET");
        expect(calls).toBe(2);
      } finally {
        await started.host.close();
      }
    });

    it("without httpFallback, a GET / is the engine's Connect 404 as before", async () => {
      const started = await startTestHost(engine);
      try {
        const res = await fetch(`${started.url}/`);
        expect(res.status).toBe(404);
      } finally {
        await started.host.close();
      }
    });
  });
}

describe("httpFallback options", () => {
  it("refuses a non-function fallback and a missing or non-directory root, naming the field", () => {
    expect(() => createHost({ httpFallback: "web/dist" as never })).toThrow(/options\.httpFallback/);
    expect(() => serveStaticFiles({ root: "/no/such/folder-weft" })).toThrow(HostError);
    expect(() => serveStaticFiles({ root: "/no/such/folder-weft" })).toThrow(/options\.root/);
    expect(() => serveStaticFiles({ root: __filename })).toThrow(/not a directory/);
    expect(() => serveStaticFiles({ root: os.tmpdir(), maxAgeSeconds: -1 })).toThrow(/options\.maxAgeSeconds/);
    expect(() => serveStaticFiles({ root: os.tmpdir(), immutablePrefixes: ["assets"] })).toThrow(/options\.immutablePrefixes/);
    expect(() => serveStaticFiles({ root: os.tmpdir(), index: "../x.html" })).toThrow(/options\.index/);
  });
});
