// A static folder as the host's HTTP fallback (http-fallback.ts): GET/HEAD of regular files under one
// root, with content types, validators (ETag, Last-Modified -> 304) and cache headers. Nothing outside
// the root is reachable: encoded or literal "..", hidden (dot) segments, NUL bytes and symlinks that
// lead out are all answered 404 (or 400 for undecodable paths), and directories are never listed.

import type { ServerResponse } from "node:http";
import { createReadStream, realpathSync, statSync, type Stats } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import * as path from "node:path";
import { pipeline } from "node:stream";
import { HostError, HostErrorCode } from "./errors.ts";
import type { FallbackRequest, FallbackResponse, HttpFallback } from "../engine/index.ts";

/** Options of `serveStaticFiles`. */
export interface StaticFilesOptions {
  /** The folder to serve. Required; must exist and be a directory (checked at construction). */
  root: string;
  /** File served for a directory's URL ending in "/". Default "index.html". */
  index?: string;
  /**
   * `Cache-Control: max-age` of files other than HTML, in seconds. Default 0: every file is
   * `no-cache` (browsers revalidate with the ETag and get 304 while it is unchanged). HTML is always
   * `no-cache`, so a new deployment's page is seen at once.
   */
  maxAgeSeconds?: number;
  /**
   * URL path prefixes whose files never change once published (content-hashed build output, e.g.
   * "/assets/"): served `public, max-age=31536000, immutable`. Default [].
   */
  immutablePrefixes?: readonly string[];
}

/** Content types by extension; anything else is application/octet-stream. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".htm": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".webmanifest": "application/manifest+json",
  ".txt": "text/plain; charset=utf-8",
  ".xml": "application/xml",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".otf": "font/otf",
  ".wasm": "application/wasm",
  ".pdf": "application/pdf",
};

const ONE_YEAR_SECONDS = 31_536_000;

function fail(field: string, problem: string): never {
  throw new HostError(HostErrorCode.options, `serveStaticFiles: options.${field} ${problem}`);
}

/** The content type for a file name. */
export function contentTypeFor(fileName: string): string {
  return CONTENT_TYPES[path.extname(fileName).toLowerCase()] ?? "application/octet-stream";
}

/**
 * Decodes a request path into safe segments, or returns a status: 400 when it is not a decodable
 * absolute path, 404 when a segment is empty-dotted (".", ".."), hidden (".git", ".env") or holds a
 * separator or NUL once decoded. An empty last segment means the path ended with "/".
 */
export function safeSegments(rawPath: string): string[] | 400 | 404 {
  if (!rawPath.startsWith("/")) return 400;
  const parts = rawPath.slice(1).split("/");
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    let seg: string;
    try {
      seg = decodeURIComponent(parts[i]);
    } catch {
      return 400;
    }
    if (seg === "") {
      // "//" inside a path is refused; a trailing "/" is kept as the directory marker.
      if (i === parts.length - 1) {
        out.push("");
        continue;
      }
      return 404;
    }
    if (seg.startsWith(".") || seg.includes("/") || seg.includes("\\") || seg.includes("\0")) return 404;
    out.push(seg);
  }
  return out;
}

function isInside(root: string, file: string): boolean {
  return file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/**
 * A fallback serving the files under `options.root` (GET and HEAD; other methods 405). Throws
 * HostError WEFT_ERR_HOST_OPTIONS at once for a missing root or a bad option.
 */
export function serveStaticFiles(options: StaticFilesOptions): HttpFallback {
  if (typeof options?.root !== "string" || options.root === "") fail("root", "must be a folder path");
  let root: string;
  try {
    root = realpathSync(path.resolve(options.root));
  } catch {
    fail("root", `does not exist: ${JSON.stringify(options.root)}`);
  }
  if (!statSync(root).isDirectory()) fail("root", `is not a directory: ${JSON.stringify(options.root)}`);
  const index = options.index ?? "index.html";
  if (typeof index !== "string" || index === "" || index.includes("/") || index.startsWith(".")) fail("index", "must be a plain file name");
  const maxAge = options.maxAgeSeconds ?? 0;
  if (!Number.isInteger(maxAge) || maxAge < 0) fail("maxAgeSeconds", "must be a non-negative integer");
  const immutable = options.immutablePrefixes ?? [];
  if (!Array.isArray(immutable) || immutable.some((p) => typeof p !== "string" || !p.startsWith("/"))) {
    fail("immutablePrefixes", "must be URL path prefixes starting with \"/\"");
  }

  const cacheControl = (urlPath: string, file: string): string => {
    if (immutable.some((prefix) => urlPath.startsWith(prefix))) return `public, max-age=${ONE_YEAR_SECONDS}, immutable`;
    if (maxAge === 0 || contentTypeFor(file).startsWith("text/html")) return "no-cache";
    return `public, max-age=${maxAge}`;
  };

  const plain = (res: FallbackResponse, status: number, text: string, extra: Record<string, string> = {}) => {
    (res as ServerResponse).writeHead(status, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", ...extra });
    res.end(text);
  };

  return async (req: FallbackRequest, response: FallbackResponse) => {
    // The two response types share the methods used here; the cast only merges their overloads.
    const res = response as ServerResponse;
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "HEAD") {
      plain(res, 405, "method not allowed\n", { allow: "GET, HEAD" });
      return;
    }
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const urlPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const segments = safeSegments(urlPath);
    if (segments === 400) return plain(res, 400, "bad request\n");
    if (segments === 404) return plain(res, 404, "not found\n");
    const endsWithSlash = segments.at(-1) === "";
    let file = path.join(root, ...segments.filter((s) => s !== ""));
    let info: Stats;
    try {
      info = await stat(file);
      if (info.isDirectory()) {
        if (!endsWithSlash) {
          // Relative links in the directory's index resolve against the URL: it must end with "/".
          const location = `${urlPath}/${q < 0 ? "" : rawUrl.slice(q)}`;
          res.writeHead(301, { location, "content-length": 0 });
          res.end();
          return;
        }
        file = path.join(file, index);
        info = await stat(file);
      } else if (endsWithSlash) {
        return plain(res, 404, "not found\n");
      }
      // A symlink inside the root may point outside it: judge the real path.
      if (!info.isFile() || !isInside(root, await realpath(file))) return plain(res, 404, "not found\n");
    } catch {
      return plain(res, 404, "not found\n");
    }
    const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const headers: Record<string, string | number> = {
      "content-type": contentTypeFor(file),
      "cache-control": cacheControl(urlPath, file),
      etag,
      "last-modified": info.mtime.toUTCString(),
      "x-content-type-options": "nosniff",
    };
    const inm = req.headers["if-none-match"];
    const ims = req.headers["if-modified-since"];
    const notModified = inm !== undefined
      ? inm.split(",").some((t) => { const v = t.trim(); return v === etag || v === etag.slice(2) || v === "*"; })
      : ims !== undefined && Math.floor(info.mtimeMs / 1000) <= Math.floor(Date.parse(ims) / 1000);
    if (notModified) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    headers["content-length"] = info.size;
    res.writeHead(200, headers);
    if (method === "HEAD") {
      res.end();
      return;
    }
    pipeline(createReadStream(file), res as NodeJS.WritableStream, () => {
      // A client that goes away mid-file, or a file that vanished: the response is already under way,
      // so the only thing left to do is let pipeline close both streams.
    });
  };
}
