import { context, propagation } from "@opentelemetry/api";

/** The active trace context as W3C headers, for carrying into a task (empty without a propagator). */
export function traceCarrier(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}
