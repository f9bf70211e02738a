import { Code, ConnectError } from "@connectrpc/connect";
import { relayError } from "../shared/index.ts";

/** The field an INVALID_ARGUMENT message names (`items[2].quantity: ...` -> `items`), or undefined. */
function namedField(message: string): string | undefined {
  return /^([a-z][a-z0-9_]*)(?:[[.:])/.exec(message)?.[1];
}

/**
 * Awaits a downstream call made for a browser and relays its failure, except that an INVALID_ARGUMENT
 * naming a field the caller never sent (one of an internal service's own, e.g. inventory's
 * `product_ids`) is the gateway's fault: it becomes INTERNAL "internal error", so internal contracts
 * never reach the public API. `publicFields` are the request fields of the gateway method being served.
 */
export async function relayAtEdge<T>(call: Promise<T>, publicFields: readonly string[]): Promise<T> {
  try {
    return await call;
  } catch (err) {
    const relayed = relayError(err);
    if (relayed.code === Code.InvalidArgument) {
      const field = namedField(relayed.rawMessage);
      if (field === undefined || !publicFields.includes(field)) {
        throw new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      }
    }
    throw relayed;
  }
}
