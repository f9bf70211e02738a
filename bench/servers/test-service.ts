// The TestService handlers shared by every Connect-programming-model server in the benchmarks
// (connect-node and Weft), so they run the same code per call. Only the unary methods are implemented;
// the others answer UNIMPLEMENTED, which is all the benchmarks need.

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  EmptyCallResponseSchema,
  UnaryCallResponseSchema,
  type TestService,
} from "../../gen/weft/testing/v1/test_pb.ts";

/** Largest payload a benchmark server agrees to build, in bytes. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Handlers for TestService.EmptyCall and TestService.UnaryCall. */
export const benchTestService: Partial<ServiceImpl<typeof TestService>> = {
  emptyCall() {
    return create(EmptyCallResponseSchema);
  },
  unaryCall(request) {
    const status = request.responseStatus;
    if (status !== undefined && status.code !== 0) {
      throw new ConnectError(status.message, status.code as Code);
    }
    if (request.responseSize < 0 || request.responseSize > MAX_RESPONSE_BYTES) {
      throw new ConnectError("response_size out of range", Code.InvalidArgument);
    }
    return create(UnaryCallResponseSchema, { payload: { body: new Uint8Array(request.responseSize) } });
  },
};
