// Leaves the shared NATS server as a run found it: the JetStream streams a run's events prefix created
// (`<PREFIX>_...`, as eventNames names them) are deleted when the run ends. Left behind, they pile up
// across runs, and the admin API's stream listing (at most 100 per answer) starts to drop real ones.

import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { streamNamePrefix } from "../../mesh/events/index.ts";
import { natsUrl } from "./servers.ts";

/** Deletes every stream of the events prefixes `prefixes`; resolves with the names deleted. */
export async function deleteEventStreams(prefixes: readonly string[], nc?: NatsConnection): Promise<string[]> {
  if (prefixes.length === 0) return [];
  // "" names no run: every stream would match.
  if (prefixes.includes("")) throw new Error("deleteEventStreams: an events prefix is empty");
  const own = nc === undefined ? await connect({ servers: natsUrl(), noAsyncTraces: true }) : undefined;
  try {
    const jsm = await jetstreamManager((nc ?? own)!);
    const starts = prefixes.map(streamNamePrefix);
    const names: string[] = [];
    // Listed first: deleting while paging skips names.
    for await (const name of jsm.streams.names()) if (starts.some((s) => name.startsWith(s))) names.push(name);
    for (const name of names) await jsm.streams.delete(name).catch(() => undefined);
    return names;
  } finally {
    await own?.close();
  }
}
