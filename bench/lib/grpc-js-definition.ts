// TestService for @grpc/grpc-js, loaded by @grpc/proto-loader from the same .proto the generated code
// comes from. Shared by the grpc-js server and client.

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

const protoRoot = fileURLToPath(new URL("../../proto", import.meta.url));

/** The grpc-js client constructor for weft.testing.v1.TestService. */
export function loadTestServiceClient(): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync("weft/testing/v1/test.proto", {
    includeDirs: [protoRoot],
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
