// The fan-out ceiling of bench:shop: product details and a browse page as the least code Node can do them
// with, no framework, no protobuf, no mesh. An edge on node:http parses the JSON request, asks catalog then inventory over
// one node:http2 session each (JSON bodies, as a gRPC channel multiplexes one connection), and answers
// the same JSON view the gateway does. What it leaves out (deadlines, auth, metrics, traces, retries,
// validation, a schema) is what Weft and the peer pay for; what it keeps is the sockets, HTTP/2
// framing and the event loop's turns that any implementation pays. One role per process:
//   node bench/shop/raw-composite.ts catalog <port> | inventory <port> | edge <port> <catalogPort> <inventoryPort>
// and `single <port>`: the edge with catalog and inventory in its own process, called directly (the
// ceiling of `npm start`, where the gateway calls them in-process).

import * as http from "node:http";
import * as http2 from "node:http2";
import { readFileSync } from "node:fs";

interface Product { id: string; name: string; description: string; category: string; priceCents: number; tags: string[] }

function seed<T>(path: string): T {
  return JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as T;
}

/** Reads a whole request or response body. */
function readBody(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString()));
    stream.on("error", reject);
  });
}

type Answer = (request: Record<string, unknown>) => unknown;

/** An HTTP/2 backend answering JSON methods by path: an answer returns the body, or undefined for 404. */
function backend(port: number, methods: Record<string, Answer>): void {
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
  server.on("stream", (stream, headers) => {
    void readBody(stream).then((text) => {
      const body = methods[headers[":path"] ?? ""]?.(JSON.parse(text) as Record<string, unknown>);
      if (body === undefined) return void stream.respond({ ":status": 404 }, { endStream: true });
      stream.respond({ ":status": 200, "content-type": "application/json" });
      stream.end(JSON.stringify(body));
    }, () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
  });
  server.listen(port, "127.0.0.1");
}

/** One JSON call over a shared HTTP/2 session. */
async function call<T>(session: http2.ClientHttp2Session, path: string, body: unknown): Promise<T> {
  const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/json" });
  req.end(JSON.stringify(body));
  const status = new Promise<number>((resolve, reject) => {
    req.once("response", (h) => resolve(Number(h[":status"])));
    req.once("error", reject);
  });
  const [code, text] = await Promise.all([status, readBody(req)]);
  if (code !== 200) throw new Error(`${path}: HTTP ${code}`);
  return JSON.parse(text) as T;
}

/** One HTTP/2 session to a backend, made again when it closed (a backend that was not listening yet). */
function channel(port: number): () => http2.ClientHttp2Session {
  let session: http2.ClientHttp2Session | undefined;
  return () => {
    if (session === undefined || session.closed || session.destroyed) {
      session = http2.connect(`http://127.0.0.1:${port}`);
      session.on("error", () => {}); // the calls on it fail; the next call connects again
    }
    return session;
  };
}

/** Asks a backend's method: over HTTP/2, or (the single process) by calling its answer directly. */
type Ask = <T>(path: string, body: Record<string, unknown>) => Promise<T>;

function catalogMethods(): Record<string, Answer> {
  const products = seed<Product[]>("../../services/catalog/seed/products.json");
  const byId = new Map(products.map((p) => [p.id, p]));
  return {
    "/GetProduct": (r) => (byId.has(r.id as string) ? { product: byId.get(r.id as string) } : undefined),
    "/ListProducts": (r) => ({ products: products.slice(0, Number(r.pageSize) || 50) }),
  };
}

function inventoryMethods(): Record<string, Answer> {
  const stock = new Map(Object.entries(seed<Record<string, number>>("../../services/inventory/seed/stock.json")));
  return { "/GetStock": (r) => ({ levels: (r.productIds as string[]).map((productId) => ({ productId, available: stock.get(productId) ?? 0 })) }) };
}

/** The edge: node:http, JSON in, catalog then inventory asked through `catalog` and `inventory`, JSON out. */
function edge(port: number, catalog: Ask, inventory: Ask): void {
  const withStock = async (products: Product[]) => {
    const { levels } = await inventory<{ levels: { productId: string; available: number }[] }>("/GetStock", { productIds: products.map((p) => p.id) });
    return products.map((product, i) => ({ product, available: levels[i]?.available ?? 0 }));
  };
  const routes: Record<string, (request: Record<string, unknown>) => Promise<unknown>> = {
    "/product": async ({ id }) => {
      const { product } = await catalog<{ product: Product }>("/GetProduct", { id });
      return { product: (await withStock([product]))[0] };
    },
    "/browse": async ({ pageSize }) => {
      const { products } = await catalog<{ products: Product[] }>("/ListProducts", { pageSize });
      return { products: await withStock(products) };
    },
  };
  const server = http.createServer((req, res) => {
    const route = req.method === "POST" ? routes[req.url ?? ""] : undefined;
    if (route === undefined) return void res.writeHead(404).end();
    void readBody(req)
      .then(async (text) => {
        const body = JSON.stringify(await route(JSON.parse(text) as Record<string, unknown>));
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
      })
      .catch(() => res.writeHead(500).end());
  });
  server.listen(port, "127.0.0.1");
}

/** Asks over one HTTP/2 session to the backend on `port`. */
function remote(port: number): Ask {
  const session = channel(port);
  return (path, body) => call(session(), path, body);
}

/** Asks in this process: the backend's answer, with no copy and no codec (the ceiling of `npm start`). */
function local(methods: Record<string, Answer>): Ask {
  return async <T>(path: string, body: Record<string, unknown>) => {
    const answer = methods[path]?.(body);
    if (answer === undefined) throw new Error(`${path}: not found`);
    return answer as T;
  };
}

const [role, port, catalogPort, inventoryPort] = process.argv.slice(2);
if (role === "catalog") backend(Number(port), catalogMethods());
else if (role === "inventory") backend(Number(port), inventoryMethods());
else if (role === "edge") edge(Number(port), remote(Number(catalogPort)), remote(Number(inventoryPort)));
else if (role === "single") edge(Number(port), local(catalogMethods()), local(inventoryMethods()));
else {
  console.error("usage: node bench/shop/raw-composite.ts catalog <port> | inventory <port> | edge <port> <catalogPort> <inventoryPort> | single <port>");
  process.exit(2);
}
console.log(`raw-composite ${role} listening on ${port}`);
