/** One in-flight load; `stale` is set when the key was invalidated while it ran. */
interface Flight<T> {
  readonly promise: Promise<T>;
  stale: boolean;
}

/**
 * Collapses concurrent loads of one key into one. A key invalidated while its load runs is marked
 * stale: callers already waiting still get that result, later callers start a fresh load, and the
 * stale result must not be stored (check `isStale` before writing it to the cache).
 */
export class SingleFlight<T> {
  readonly #flights = new Map<string, Flight<T>>();

  /** Joins the load running for `key`, or starts `load` and shares it. `store` runs once with the result unless the key went stale. */
  do(key: string, load: () => Promise<T>, store: (value: T) => void | Promise<void>): Promise<T> {
    const running = this.#flights.get(key);
    if (running) return running.promise;
    const flight: Flight<T> = {
      stale: false,
      promise: Promise.resolve()
        .then(load)
        .then(async (value) => {
          if (!flight.stale) {
            try {
              await store(value);
            } catch {
              // Storing is best effort: the caller still gets the loaded value.
            }
          }
          return value;
        })
        .finally(() => {
          if (this.#flights.get(key) === flight) this.#flights.delete(key);
        }),
    };
    this.#flights.set(key, flight);
    return flight.promise;
  }

  /** True while a load of `key` runs (a `do` now would join it). */
  has(key: string): boolean {
    return this.#flights.has(key);
  }

  /** Marks the running load of `key` (if any) stale and detaches it so the next caller loads afresh. */
  forget(key: string): void {
    const flight = this.#flights.get(key);
    if (flight) {
      flight.stale = true;
      this.#flights.delete(key);
    }
  }

  /** Marks every running load stale. */
  forgetAll(): void {
    for (const key of [...this.#flights.keys()]) this.forget(key);
  }
}
