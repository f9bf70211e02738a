/** Stable codes of the start-up and usage errors this part of the runtime throws (never sent to RPC callers). */
export const EventsErrorCode = {
  /** An option or argument is invalid; the message names the field. */
  options: "WEFT_ERR_EVENTS_OPTIONS",
} as const;

/** An invalid option or argument, thrown at construction (or call) time, naming the field. */
export class EventsOptionsError extends TypeError {
  /** Always `EventsErrorCode.options`. */
  readonly code = EventsErrorCode.options;
  override name = "EventsOptionsError";
}
