// Which streams a process publishes to and consumes from, per event type, counted since it started:
// the admin API reports them so the topology can draw service -> stream and stream -> service edges.
// Bounded by the event types and consumers the code declares, not by traffic.

/** "publish" or "consume". */
export type EventFlowDirection = "publish" | "consume";

/** One flow and its count. */
export interface EventFlowRecord {
  readonly stream: string;
  readonly eventType: string;
  readonly direction: EventFlowDirection;
  /** The durable consumer's name ("" for a publish). */
  readonly consumer: string;
  readonly messages: number;
}

/** A counter of one flow. */
export interface EventFlowCounter {
  value: number;
}

/** The process's flows: event buses take counters, the admin API lists them. */
export interface EventFlows {
  /** The counter of one flow, made on first use (a consumer's at subscribe time, so it shows before any message). */
  counter(direction: EventFlowDirection, stream: string, eventType: string, consumer?: string): EventFlowCounter;
  /** Every flow so far. */
  list(): EventFlowRecord[];
}

/** A new, empty set of flows (one per process, made by main or mesh/node). */
export function createEventFlows(): EventFlows {
  const flows = new Map<string, { key: Omit<EventFlowRecord, "messages">; counter: EventFlowCounter }>();
  return {
    counter(direction, stream, eventType, consumer = "") {
      const id = `${direction}\u0000${stream}\u0000${eventType}\u0000${consumer}`;
      let flow = flows.get(id);
      if (flow === undefined) flows.set(id, (flow = { key: { direction, stream, eventType, consumer }, counter: { value: 0 } }));
      return flow.counter;
    },
    list() {
      return [...flows.values()].map((f) => ({ ...f.key, messages: f.counter.value }));
    },
  };
}
