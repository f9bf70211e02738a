// What the page gets in place of @bufbuild/protovalidate's buf/validate/validate.proto descriptor
// (aliased in build.ts): an empty file of that name. The gateway's messages import it only for their
// validation rules, which the server enforces; the page needs the messages, not 60 KB of rule schema.
import { create, createFileRegistry, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

const proto = create(FileDescriptorProtoSchema, { name: "buf/validate/validate.proto", package: "buf.validate", syntax: "proto2" });

/** Stands in for the package's `file_buf_validate_validate`: same name, no declarations. */
export const file_buf_validate_validate: DescFile = createFileRegistry(proto, () => undefined).getFile(proto.name)!;
