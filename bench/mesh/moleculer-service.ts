// A Moleculer 0.15 broker over NATS serving `test.unaryCall`: the peer for the mesh client over NATS.
// Default settings (JSON serializer), logging off. It answers with 16 bytes of payload, as every
// benchmark server does.
//
// Usage: node bench/mesh/moleculer-service.ts --namespace NS

import { readCommandLine } from "../../mesh/errors/index.ts";
import { ServiceBroker } from "moleculer";
import { announceReady, closeOnSignal } from "../servers/child-protocol.ts";
import { packageVersion } from "../lib/package-version.ts";

const { values } = readCommandLine({
  usage: "node bench/mesh/moleculer-service.ts [--namespace NS]   (started by npm run bench:mesh)",
  summary: "The Moleculer peer of bench:mesh: a broker serving the same unary call over NATS.",
  flags: { namespace: { type: "string", valueName: "NS", defaultText: "weftbench", description: "Moleculer namespace of this run" } },
  env: [{ name: "NATS_URL", defaultText: "nats://127.0.0.1:4222", description: "NATS server" }],
});
const broker = new ServiceBroker({
  namespace: values.namespace ?? "weftbench",
  nodeID: `service-${process.pid}`,
  transporter: { type: "NATS", options: { url: process.env.NATS_URL ?? "nats://127.0.0.1:4222" } },
  logger: false,
});
broker.createService({
  name: "test",
  actions: {
    unaryCall(ctx: { params: { responseSize: number; payload: string } }) {
      return { payload: "0".repeat(ctx.params.responseSize) };
    },
  },
});
await broker.start();
announceReady(0, `moleculer ${packageVersion("moleculer")} over NATS (nats.js ${packageVersion("nats")})`);
closeOnSignal(() => broker.stop());
