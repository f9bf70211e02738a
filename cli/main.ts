// `weft`: the mesh from the command line, on the admin API (the same API the dashboard uses).
// Arguments are parsed by node:util parseArgs (Node's own, strict: unknown flags are refused) with the
// verb as the first positional; no dependency is loaded before the verb needs it.

import { parseArgs } from "node:util";
import { CliError, EXIT, openTarget, type Target } from "./target.ts";

const HELP = `weft: see and drive a Weft mesh (the admin API every instance serves)

Usage: weft <verb> [arguments] [options]

Verbs
  ls                         instances: services, version, uptime, ready/draining, in-flight, loop delay,
                             and which instances' clients have ejected each one (outlier detection)
  stat [--window 60]         RED per method over the window: rate, success, p50/p95/p99 (mesh-wide)
  edges [--window 60]        who calls whom: caller service -> service, with rate, success, p99
  top [--window 10]          live RED per method, refreshed in place (q or Ctrl-C to quit)
  describe [service|method]  services and methods, or a method's request fields
  call <method> [json]       calls a method (JSON from the argument or stdin), prints the answer as JSON
  events report              JetStream streams and consumers: pending, redelivered, dead letters, lag
  events tail <stream>       a stream's messages, one JSON line each: the last --last N, then new ones
                             (subject, sequence, time, size, headers; never the payload)
  dash [--port 0] [--open]   the dashboard in a browser: serves it on 127.0.0.1 under a secret URL it
                             prints (topology, services, instances, API explorer, events); Ctrl-C stops

Finding the mesh (first that is set)
  --url URL          an instance's URL, e.g. http://127.0.0.1:8080 (env WEFT_URL; default for npm start)
  --nats URL         the mesh's NATS; discovery names every instance (env NATS_URL when no --url/WEFT_URL)
  --registry-prefix  discovery subject prefix (env WEFT_REGISTRY_PREFIX, default weft.registry)
  --instance ID      call this instance (an id or its prefix, from weft ls)

Proving who you are (the admin API is for operators)
  --admin-token T    npm start's operator token (env WEFT_ADMIN_TOKEN; default: the file .weft/admin-token)
  --tls-dir DIR      an operator's certificate folder for mutual TLS (env WEFT_TLS_DIR), e.g. .certs/operator
                     (npm run certs and npm run start:distributed write it; the admin API answers only it)
  --nats-nkey FILE   the operator's NATS user on a broker with users (env WEFT_NATS_NKEY_FILE), e.g.
                     .certs/nats/operator.nk (start:distributed --transport nats)

Options
  --json             machine-readable output (every verb); top prints one JSON line per refresh
  --window SECONDS   seconds of history to aggregate (1..900)
  --interval MS      top: milliseconds between refreshes (default 1000)
  --count N          top, events tail: stop after N refreshes / messages
  --protocol P       call: connect (default), grpc or grpc-web
  -H, --header 'k: v'  call: request metadata (repeatable)
  --deadline MS      call: deadline in milliseconds (default 30000)
  --prefix P         events report: only streams whose names start with P
  --last N           events tail: start with the stream's last N messages (0..1000, default 0: new only)
  --subject S        events tail: only subjects matching S (NATS wildcards * and >)
  --port N           dash: local port to serve the page on (default 0: a free one)
  --open             dash: also open the page in the desktop's browser
  -h, --help         this help

Exit codes
  0 success   1 the call failed (its code and details are printed)   2 bad usage or input
  3 the mesh is unreachable or refused the CLI

Examples
  npm start &                                  # the shop and its admin API on :8080
  npx weft ls
  npx weft call shop.catalog.v1.CatalogService/GetProduct '{"productId":"prod-0001"}'
  echo '{"query":"kettle"}' | npx weft call CatalogService/SearchProducts
  npx weft top
  npx weft dash --open                         # the dashboard, on a URL only you have
  NATS_URL=nats://127.0.0.1:4222 npx weft stat --window 300 --json
  npx weft ls --nats nats://127.0.0.1:4222 --tls-dir .certs/operator   # npm run start:distributed
`;

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        json: { type: "boolean" },
        url: { type: "string" },
        nats: { type: "string" },
        "registry-prefix": { type: "string" },
        instance: { type: "string" },
        "admin-token": { type: "string" },
        "tls-dir": { type: "string" },
        "nats-nkey": { type: "string" },
        window: { type: "string" },
        interval: { type: "string" },
        count: { type: "string" },
        protocol: { type: "string" },
        header: { type: "string", short: "H", multiple: true },
        deadline: { type: "string" },
        prefix: { type: "string" },
        last: { type: "string" },
        subject: { type: "string" },
        port: { type: "string" },
        open: { type: "boolean" },
      },
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nweft --help lists the verbs and options`, EXIT.usage);
  }
  const { values, positionals } = parsed;
  const [verb, ...rest] = positionals;
  if (values.help || verb === undefined || verb === "help") {
    process.stdout.write(HELP);
    return verb === undefined && !values.help ? EXIT.usage : EXIT.ok;
  }
  const known = ["ls", "stat", "edges", "top", "describe", "call", "events", "dash"];
  if (!known.includes(verb)) throw new CliError(`unknown verb ${JSON.stringify(verb)}: weft --help lists ${known.join(", ")}`, EXIT.usage);
  if (verb === "call" && rest[0] === undefined) throw new CliError("weft call <method> [json]: which method? (weft describe lists them)", EXIT.usage);
  if (verb === "events" && rest[0] !== "report" && rest[0] !== "tail") throw new CliError("weft events report | weft events tail <stream>", EXIT.usage);
  if (verb === "events" && rest[0] === "tail" && rest[1] === undefined) throw new CliError("weft events tail <stream>: which stream? (weft events report lists them)", EXIT.usage);

  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const target: Target = await openTarget(values);
  try {
    const print = (text: string) => process.stdout.write(text + "\n");
    const mesh = await import("./mesh-verbs.ts");
    switch (verb) {
      case "ls":
        print(await mesh.ls(target, values));
        return EXIT.ok;
      case "stat":
        print(await mesh.stat(target, values));
        return EXIT.ok;
      case "edges":
        print(await mesh.edges(target, values));
        return EXIT.ok;
      case "top": {
        const quit = watchQuitKey(stop);
        try {
          await mesh.top(target, values, abort.signal);
        } finally {
          quit();
        }
        return EXIT.ok;
      }
      case "dash":
        await (await import("./dash-verb.ts")).dash(target, values, abort.signal, print);
        return EXIT.ok;
      case "describe":
        print(await (await import("./call-verbs.ts")).describe(target, rest[0], values));
        return EXIT.ok;
      case "call": {
        const result = await (await import("./call-verbs.ts")).call(target, rest[0], rest[1], values, abort.signal);
        print(result.output);
        return result.exitCode;
      }
      default:
        if (rest[0] === "report") {
          print(await mesh.eventsReport(target, values));
          return EXIT.ok;
        }
        await (await import("./call-verbs.ts")).eventsTail(target, rest[1], values, abort.signal, print);
        return EXIT.ok;
    }
  } finally {
    await target.close();
  }
}

/** On a terminal, `q` quits top (raw mode, restored after). */
function watchQuitKey(quit: () => void): () => void {
  const input = process.stdin;
  if (!input.isTTY) return () => undefined;
  input.setRawMode(true);
  input.resume();
  const onData = (data: Buffer) => {
    if (data[0] === 0x71 || data[0] === 0x03) quit(); // "q" or Ctrl-C
  };
  input.on("data", onData);
  return () => {
    input.off("data", onData);
    input.setRawMode(false);
    input.pause();
  };
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof CliError) {
    process.stderr.write(`weft: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`weft: unexpected failure: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = EXIT.callFailed;
  }
}
