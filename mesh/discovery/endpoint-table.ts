// The in-memory table behind every endpoint source: endpoints by instance id, an index by service,
// and change listeners.

import type { DiscoveryEvent, DownReason, Endpoint } from "./endpoint.ts";

/** A mutable endpoint table that notifies listeners of changes. */
export class EndpointTable {
  readonly #byId = new Map<string, Endpoint>();
  #byService = new Map<string, readonly Endpoint[]>();
  #indexStale = false;
  readonly #listeners = new Set<(event: DiscoveryEvent) => void>();

  /** Endpoints serving `service`. */
  endpoints(service: string): readonly Endpoint[] {
    if (this.#indexStale) this.#reindex();
    return this.#byService.get(service) ?? [];
  }

  /** Every endpoint. */
  all(): IterableIterator<Endpoint> {
    return this.#byId.values();
  }

  get(instanceId: string): Endpoint | undefined {
    return this.#byId.get(instanceId);
  }

  /** Adds or replaces an endpoint, emitting "up" or "update" (nothing if unchanged). */
  upsert(endpoint: Endpoint): void {
    const previous = this.#byId.get(endpoint.instanceId);
    this.#byId.set(endpoint.instanceId, endpoint);
    if (previous === undefined || previous.ready !== endpoint.ready || previous.address !== endpoint.address
      || previous.natsSubject !== endpoint.natsSubject || previous.services.join() !== endpoint.services.join()) {
      this.#indexStale = true;
    } else {
      // Same membership: swap the object in place so readers see the new load without a reindex.
      for (const service of endpoint.services) {
        const list = this.#byService.get(service);
        if (list === undefined) continue;
        const i = list.indexOf(previous);
        if (i >= 0) (list as Endpoint[])[i] = endpoint;
      }
    }
    this.#emit(previous === undefined ? { type: "up", endpoint } : { type: "update", endpoint });
  }

  /** Removes an endpoint, emitting "down". Returns whether it was present. */
  remove(instanceId: string, reason: DownReason): boolean {
    const endpoint = this.#byId.get(instanceId);
    if (endpoint === undefined) return false;
    this.#byId.delete(instanceId);
    this.#indexStale = true;
    this.#emit({ type: "down", endpoint, reason });
    return true;
  }

  subscribe(listener: (event: DiscoveryEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: DiscoveryEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A faulty listener must not break discovery for the others.
      }
    }
  }

  #reindex(): void {
    const index = new Map<string, Endpoint[]>();
    for (const endpoint of this.#byId.values()) {
      for (const service of endpoint.services) {
        let list = index.get(service);
        if (list === undefined) index.set(service, (list = []));
        list.push(endpoint);
      }
    }
    this.#byService = index;
    this.#indexStale = false;
  }
}
