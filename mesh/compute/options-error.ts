/** Stable codes of the start-up and usage errors this part of the runtime throws (never sent to RPC callers). */
export const ComputeErrorCode = {
  /** An option or argument is invalid; the message names the field. */
  options: "WEFT_ERR_COMPUTE_OPTIONS",
} as const;

/** An invalid option or argument, thrown at construction (or call) time, naming the field. */
export class ComputeOptionsError extends TypeError {
  /** Always `ComputeErrorCode.options`. */
  readonly code = ComputeErrorCode.options;
  override name = "ComputeOptionsError";
}
