import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { relayAtEdge } from "./edge-errors.ts";

const failing = (message: string, code: Code) => Promise.reject(new ConnectError(message, code));

describe("relayAtEdge", () => {
  it("relays errors about the caller's own fields, and turns ones naming an internal field into INTERNAL", async () => {
    await expect(relayAtEdge(failing("page_size: must be between 1 and 500", Code.InvalidArgument), ["page_size"])).rejects.toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: "page_size: must be between 1 and 500",
    });
    await expect(relayAtEdge(failing("items[2].quantity: must be between 1 and 1000", Code.InvalidArgument), ["items"])).rejects.toMatchObject({
      rawMessage: "items[2].quantity: must be between 1 and 1000",
    });
    await expect(relayAtEdge(failing("product_ids: must have at most 100 entries", Code.InvalidArgument), ["page_size"])).rejects.toMatchObject({
      code: Code.Internal,
      rawMessage: "internal error",
    });
    await expect(relayAtEdge(failing("user_id: is required", Code.InvalidArgument), ["items"])).rejects.toMatchObject({ code: Code.Internal });
    await expect(relayAtEdge(failing("product prod-9 not found", Code.NotFound), [])).rejects.toMatchObject({ code: Code.NotFound });
    expect(await relayAtEdge(Promise.resolve(7), [])).toBe(7);
  });
});
