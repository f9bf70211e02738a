// TestService for @grpc/grpc-js, loaded by @grpc/proto-loader from the same .proto the generated code
// comes from. Shared by the grpc-js server and client.

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { writeProtoImports } from "../../scripts/proto-imports.ts";

const protoRoot = fileURLToPath(new URL("../../proto", import.meta.url));
// buf/validate/validate.proto, which test.proto imports for its rules: printed from the package's
// descriptor by `npm run generate`, or here on a fresh clone (the benchmark may run before generate).
const protoImports = fileURLToPath(new URL("../../.proto-imports", import.meta.url));
if (!existsSync(`${protoImports}/buf/validate/validate.proto`)) writeProtoImports();

/** The grpc-js client constructor for weft.testing.v1.TestService. */
export function loadTestServiceClient(): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync("weft/testing/v1/test.proto", {
    includeDirs: [protoRoot, protoImports],
    longs: Number,
    defaults: false,
  });
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    weft: { testing: { v1: { TestService: grpc.ServiceClientConstructor } } };
  };
  return root.weft.testing.v1.TestService;
}

/** The grpc-js service definition for weft.testing.v1.TestService. */
export function loadTestServiceDefinition(): grpc.ServiceDefinition {
  return loadTestServiceClient().service;
}

interface UnaryCallRequestObject {
  responseSize: number;
  responseStatus?: { code: number; message: string } | null;
}

/** The grpc-js handlers of TestService.EmptyCall and UnaryCall every grpc-js server scenario serves. */
export const grpcJsTestServiceImpl: grpc.UntypedServiceImplementation = {
  EmptyCall(_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
    callback(null, {});
  },
  UnaryCall(call: grpc.ServerUnaryCall<UnaryCallRequestObject, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const { responseSize, responseStatus } = call.request;
    if (responseStatus && responseStatus.code !== 0) {
      callback({ code: responseStatus.code, details: responseStatus.message });
      return;
    }
    callback(null, { payload: { body: Buffer.alloc(responseSize) } });
  },
};
