// Reply subjects of Connect over NATS calls: `<inbox>.<slot>`, where a slot is a small number reused
// once its call got its one reply, so nats-server's subject cache keeps hitting (docs/protocol.md).
//
// A slot is reused only when no further message can arrive on it: after its reply, a no-responders
// status, or a publish that failed. A call abandoned before its reply (deadline, cancel, endpoint gone,
// client closed) retires its slot for good, so a late reply finds no call and is dropped instead of
// answering a newer call that took the same slot.

/** Hands out reply slots, the most recently released first (keeps the live set small). */
export class ReplySlots {
  readonly #free: number[] = [];
  #next = 0;
  /** Slots abandoned so far (never handed out again). */
  retired = 0;

  /** A slot no message is expected on. */
  take(): number {
    return this.#free.pop() ?? this.#next++;
  }

  /** The slot's call is over and nothing more can arrive on it: hand it out again. */
  release(slot: number): void {
    this.#free.push(slot);
  }

  /** The slot's call was abandoned; a reply may still come: never hand it out again. */
  retire(): void {
    this.retired++;
  }

  /** Distinct slots handed out so far (free, busy or retired). */
  get size(): number {
    return this.#next;
  }
}
