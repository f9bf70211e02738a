// The messages a stream holds between arrival and its consumer, both directions: an array read from a
// head index (no shift per message), reset once drained. Its bound is the stream's window, kept by
// the caller.

/** A FIFO of messages. */
export class MessageQueue<T> {
  #items: T[] = [];
  #head = 0;

  /** Messages held. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** The oldest message, or undefined when empty. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head++];
    if (this.#head === this.#items.length) this.clear();
    return item;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
