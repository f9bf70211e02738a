// Endpoints from configuration: no NATS needed.

import type { Endpoint, EndpointSource } from "./endpoint.ts";
import { NO_LOAD } from "./endpoint.ts";
import { EndpointTable } from "./endpoint-table.ts";
import { WeftOptionsError } from "../errors/index.ts";
import { assertAddress } from "./address.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_DISCOVERY_OPTIONS";

/** Options of {@link createStaticDiscovery}. */
export interface StaticDiscoveryOptions {
  /**
   * Addresses ("host:port") by fully-qualified service name, e.g.
   * `{ "shop.catalog.v1.CatalogService": ["127.0.0.1:7001", "127.0.0.1:7002"] }`.
   * An address serving several services is one endpoint.
   */
  readonly endpoints: Readonly<Record<string, readonly string[]>>;
}

/** An endpoint source with a fixed table; every endpoint is ready and reports no load. */
export function createStaticDiscovery(options: StaticDiscoveryOptions): EndpointSource {
  if (options === null || typeof options !== "object" || options.endpoints === null || typeof options.endpoints !== "object") {
    throw new WeftOptionsError(OPTIONS, "options.endpoints must be an object of service name -> addresses");
  }
  const servicesByAddress = new Map<string, string[]>();
  for (const [service, addresses] of Object.entries(options.endpoints)) {
    if (!Array.isArray(addresses)) throw new WeftOptionsError(OPTIONS, `options.endpoints["${service}"] must be an array of "host:port"`);
    addresses.forEach((address, i) => {
      assertAddress(address, `options.endpoints["${service}"][${i}]`);
      const list = servicesByAddress.get(address) ?? [];
      list.push(service);
      servicesByAddress.set(address, list);
    });
  }
  const table = new EndpointTable();
  for (const [address, services] of servicesByAddress) {
    const endpoint: Endpoint = {
      instanceId: `static:${address}`,
      services,
      address,
      natsSubject: "",
      version: "",
      ready: true,
      load: NO_LOAD,
    };
    table.upsert(endpoint);
  }
  return {
    endpoints: (service) => table.endpoints(service),
    subscribe: (listener) => table.subscribe(listener),
    ready: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
