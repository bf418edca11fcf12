/**
 * Loads proto/ once: TEI's tei.v1 and tei-manager's tei_multiplexer.v1. Fields keep their proto names; unset
 * fields stay absent (defaults: false) so proto3 `optional` presence is visible, and callers apply proto3 defaults.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { protoDir } from '../paths.js';
import { checkWireFormat } from '../codec/proto-wire.js';

export const PROTO_FILES = ['tei/v1/tei.proto', 'tei_multiplexer/v1/multiplexer.proto'];

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
};

let cached: { definition: protoLoader.PackageDefinition; root: grpc.GrpcObject } | undefined;

export function loadProtos(): { definition: protoLoader.PackageDefinition; root: grpc.GrpcObject } {
  if (!cached) {
    const definition = protoLoader.loadSync(PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [protoDir()] });
    cached = { definition, root: grpc.loadPackageDefinition(definition) };
  }
  return cached;
}

/**
 * A package definition for server reflection: the given proto files plus grpc.health.v1, so `grpcurl list` shows
 * every service a server exposes.
 */
export function reflectionDefinition(files: string[]): protoLoader.PackageDefinition {
  return protoLoader.loadSync([...files, 'health/v1/health.proto'], {
    ...LOADER_OPTIONS,
    includeDirs: [protoDir(), path.dirname(path.dirname(path.dirname(healthProtoPath)))],
  });
}

/**
 * A service definition by full name, e.g. `tei.v1.Embed`, for a server: request frames are checked for
 * well-formed wire format before protobufjs decodes them (a malformed frame fails the call with INTERNAL, as
 * TEI's decoder does).
 */
export function serviceDefinition(fullName: string): grpc.ServiceDefinition {
  const def = loadProtos().definition[fullName];
  if (!def) throw new Error(`proto service ${fullName} not found in ${PROTO_FILES.join(', ')}`);
  const strict: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(def as grpc.ServiceDefinition)) {
    const decode = method.requestDeserialize;
    strict[name] = {
      ...method,
      requestDeserialize: (buf: Buffer) => {
        checkWireFormat(buf);
        return decode(buf);
      },
    };
  }
  return strict as grpc.ServiceDefinition;
}

/** A client constructor by full name, for tests and backend clients. */
export function clientConstructor(fullName: string): grpc.ServiceClientConstructor {
  let node: unknown = loadProtos().root;
  for (const part of fullName.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new Error(`proto service ${fullName} not found`);
  return node as grpc.ServiceClientConstructor;
}
