// The calls of `npm run bench:shop` and how each response is checked: a wrong or failed answer counts
// as a failure of the run, never as throughput.

import { jsonResponseBody } from "../lib/bench-request.ts";

/** What bench/shop/load.ts drives: one call, its requests (rotated) and its verifier. */
export interface LoadSpec {
  readonly url: string;
  readonly method: "GET" | "POST";
  readonly headers: Readonly<Record<string, string>>;
  /** One body for every request, or `bodies` rotated per request. */
  readonly body?: string;
  readonly bodies?: readonly string[];
  /** Paths rotated per request (GET calls); default the url's. */
  readonly paths?: readonly string[];
  readonly verify: VerifierName;
  readonly connections: number;
  /** Checked but not counted, before the measured seconds: at least this long, then until the req/s stop rising. */
  readonly warmupSeconds: number;
  /** Longest warm-up; at or below `warmupSeconds` the warm-up is a fixed `warmupSeconds`. */
  readonly maxWarmupSeconds: number;
  readonly seconds: number;
}

/** Names of the response checks (a name travels to the load child; the function stays here). */
export type VerifierName = "browse" | "details" | "checkout" | "raw";

/** Products asked for by a browse. */
export const BROWSE_PAGE_SIZE = 20;


// Proto3 JSON writes int64 as a string; the peer writes numbers: both are counts here.
const isCount = (v: unknown) => (typeof v === "number" || (typeof v === "string" && /^\d+$/.test(v))) && Number(v) >= 0;
const isView = (v: unknown): boolean => {
  const view = v as { product?: { id?: unknown; name?: unknown }; available?: unknown } | undefined;
  return typeof view?.product?.id === "string" && typeof view.product.name === "string" && view.product.name !== "" && (view.available === undefined || isCount(view.available));
};

/** Returns undefined when `body` is a right answer of the call, else what is wrong with it. */
export function verifierOf(name: VerifierName): (body: string) => string | undefined {
  const parsed = (body: string): Record<string, unknown> | undefined => {
    try {
      return JSON.parse(body) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  switch (name) {
    case "browse":
      return (body) => {
        const products = parsed(body)?.products as unknown[] | undefined;
        if (!Array.isArray(products) || products.length !== BROWSE_PAGE_SIZE) return `not ${BROWSE_PAGE_SIZE} products`;
        return products.every(isView) ? undefined : "a product without id, name or stock";
      };
    case "details":
      return (body) => (isView(parsed(body)?.product) ? undefined : "no product view");
    case "checkout":
      return (body) => {
        const order = parsed(body)?.order as { id?: unknown; items?: { productId?: unknown; quantity?: unknown }[] } | undefined;
        if (typeof order?.id !== "string" || order.id === "") return "no order id";
        const item = order.items?.[0];
        return order.items?.length === 1 && typeof item?.productId === "string" && Number(item.quantity) === 1 ? undefined : "not the one item ordered";
      };
    case "raw":
      return (body) => (body === jsonResponseBody ? undefined : "not the fixed response");
  }
}
