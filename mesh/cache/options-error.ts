/** Stable codes of the start-up and usage errors this part of the runtime throws (never sent to RPC callers). */
export const CacheErrorCode = {
  /** An option or argument is invalid; the message names the field. */
  options: "WEFT_ERR_CACHE_OPTIONS",
} as const;

/** An invalid option or argument, thrown at construction (or call) time, naming the field. */
export class CacheOptionsError extends TypeError {
  /** Always `CacheErrorCode.options`. */
  readonly code = CacheErrorCode.options;
  override name = "CacheOptionsError";
}
