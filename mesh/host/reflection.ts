// gRPC server reflection (grpc.reflection.v1 and v1alpha), built from the registered services' file
// descriptors, so grpcurl and `buf curl --reflect` work without .proto files.

import { create, toBinary, type DescEnum, type DescFile, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.ts";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.ts";

/** gRPC status codes used in reflection's in-band ErrorResponse. */
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

/** The descriptors reflection answers from: every file reachable from the served services. */
export interface ReflectionIndex {
  /** Fully-qualified names of the served services, sorted. */
  readonly serviceNames: readonly string[];
  /** The file declaring `name` (message, enum, service, method, extension), if any. */
  fileContainingSymbol(name: string): DescFile | undefined;
  /** The file named `fileName` (e.g. "weft/testing/v1/test.proto"), if any. */
  fileByName(fileName: string): DescFile | undefined;
  /** The file declaring extension `number` of message `extendee`. */
  fileContainingExtension(extendee: string, number: number): DescFile | undefined;
  /** Extension numbers of `extendee`, or undefined when the message is unknown. */
  extensionNumbers(extendee: string): number[] | undefined;
  /** `file` and its transitive imports, serialised, skipping imports already in `sent` (which is updated). */
  encodeWithDependencies(file: DescFile, sent: Set<string>): Uint8Array[];
}

/** Indexes the files of `services` and everything they import. */
export function createReflectionIndex(services: readonly DescService[]): ReflectionIndex {
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const extensions = new Map<string, Map<number, DescFile>>();
  const messages = new Set<string>();
  const encoded = new Map<string, Uint8Array>();

  const addMessage = (file: DescFile, message: DescMessage) => {
    symbols.set(message.typeName, file);
    messages.add(message.typeName);
    for (const field of message.fields) symbols.set(`${message.typeName}.${field.name}`, file);
    for (const oneof of message.oneofs) symbols.set(`${message.typeName}.${oneof.name}`, file);
    for (const nested of message.nestedMessages) addMessage(file, nested);
    for (const nested of message.nestedEnums) addEnum(file, nested);
    for (const ext of message.nestedExtensions) addExtension(file, ext.typeName, ext.extendee.typeName, ext.number);
  };
  const addEnum = (file: DescFile, enumeration: DescEnum) => {
    symbols.set(enumeration.typeName, file);
    // Enum values are scoped as siblings of their enum (C++ scoping rules).
    const scope = enumeration.typeName.includes(".") ? enumeration.typeName.slice(0, enumeration.typeName.lastIndexOf(".") + 1) : "";
    for (const value of enumeration.values) symbols.set(scope + value.name, file);
  };
  const addExtension = (file: DescFile, typeName: string, extendee: string, number: number) => {
    symbols.set(typeName, file);
    let byNumber = extensions.get(extendee);
    if (byNumber === undefined) extensions.set(extendee, (byNumber = new Map()));
    byNumber.set(number, file);
  };
  const addFile = (file: DescFile) => {
    const name = file.proto.name;
    if (files.has(name)) return;
    files.set(name, file);
    for (const dependency of file.dependencies) addFile(dependency);
    for (const message of file.messages) addMessage(file, message);
    for (const enumeration of file.enums) addEnum(file, enumeration);
    for (const ext of file.extensions) addExtension(file, ext.typeName, ext.extendee.typeName, ext.number);
    for (const service of file.services) {
      symbols.set(service.typeName, file);
      for (const method of service.methods) symbols.set(`${service.typeName}.${method.name}`, file);
    }
  };
  for (const service of services) addFile(service.file);

  const encode = (file: DescFile): Uint8Array => {
    let bytes = encoded.get(file.proto.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      encoded.set(file.proto.name, bytes);
    }
    return bytes;
  };

  return {
    serviceNames: [...new Set(services.map((s) => s.typeName))].sort(),
    fileContainingSymbol: (name) => symbols.get(name.startsWith(".") ? name.slice(1) : name),
    fileByName: (fileName) => files.get(fileName),
    fileContainingExtension: (extendee, number) => extensions.get(extendee)?.get(number),
    extensionNumbers(extendee) {
      if (!messages.has(extendee)) return undefined;
      return [...(extensions.get(extendee)?.keys() ?? [])].sort((a, b) => a - b);
    },
    encodeWithDependencies(file, sent) {
      // Like grpc-go: the requested file always, then the imports this stream has not seen yet.
      const out: Uint8Array[] = [];
      const queue: DescFile[] = [file];
      const seen = new Set<string>();
      while (queue.length > 0) {
        const current = queue.shift()!;
        if (seen.has(current.proto.name)) continue;
        seen.add(current.proto.name);
        if (out.length === 0 || !sent.has(current.proto.name)) {
          sent.add(current.proto.name);
          out.push(encode(current));
        }
        queue.push(...current.dependencies);
      }
      return out;
    },
  };
}

/** The fields of a reflection request, common to v1 and v1alpha (they are wire-identical). */
type ReflectionRequest = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

/** The response body (without `originalRequest`), common to v1 and v1alpha. */
type ResponseBody =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

function notFound(what: string): ResponseBody {
  return { case: "errorResponse", value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } };
}

function answer(index: ReflectionIndex, request: ReflectionRequest, sent: Set<string>): ResponseBody {
  const files = (file: DescFile | undefined, what: string): ResponseBody =>
    file === undefined
      ? notFound(what)
      : { case: "fileDescriptorResponse", value: { fileDescriptorProto: index.encodeWithDependencies(file, sent) } };
  const req = request.messageRequest;
  switch (req.case) {
    case "fileByFilename":
      return files(index.fileByName(req.value), `file ${JSON.stringify(req.value)}`);
    case "fileContainingSymbol":
      return files(index.fileContainingSymbol(req.value), `symbol ${JSON.stringify(req.value)}`);
    case "fileContainingExtension":
      return files(
        index.fileContainingExtension(req.value.containingType, req.value.extensionNumber),
        `extension ${req.value.extensionNumber} of ${JSON.stringify(req.value.containingType)}`,
      );
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(req.value);
      if (numbers === undefined) return notFound(`type ${JSON.stringify(req.value)}`);
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: req.value, extensionNumber: numbers } };
    }
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.serviceNames.map((name) => ({ name })) } };
    default:
      return { case: "errorResponse", value: { errorCode: INVALID_ARGUMENT, errorMessage: "empty reflection request" } };
  }
}

/** grpc.reflection.v1.ServerReflection over `index`. */
export function createReflectionV1(index: ReflectionIndex): ServiceImpl<typeof v1.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const request of requests) {
        const body = answer(index, request, sent);
        yield create(v1.ServerReflectionResponseSchema, {
          validHost: request.host,
          originalRequest: request,
          messageResponse: body,
        });
      }
    },
  };
}

/** grpc.reflection.v1alpha.ServerReflection over `index` (older grpcurl and tools ask for this one). */
export function createReflectionV1alpha(index: ReflectionIndex): ServiceImpl<typeof v1alpha.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const request of requests) {
        const body = answer(index, request, sent);
        yield create(v1alpha.ServerReflectionResponseSchema, {
          validHost: request.host,
          originalRequest: request,
          messageResponse: body,
        });
      }
    },
  };
}

/** The two reflection service descriptors. */
export const ServerReflectionV1 = v1.ServerReflection;
/** The v1alpha reflection service descriptor. */
export const ServerReflectionV1alpha = v1alpha.ServerReflection;
