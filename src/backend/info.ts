/** /info (HTTP JSON, TeiInfo) and tei.v1.InfoResponse (gRPC) normalised to BackendInfo. */
import type { ModelKind, Pooling } from '../tei/types.js';
import { BackendError } from './errors.js';
import type { BackendInfo } from './types.js';

const POOLINGS: readonly Pooling[] = ['cls', 'mean', 'splade', 'last_token'];

function protocolError(backend: string, what: string): BackendError {
  return new BackendError('ROUTER_ERR_BACKEND_PROTOCOL', backend, `malformed info: ${what}`);
}

function uint(backend: string, o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw protocolError(backend, `${key} is ${String(v)}`);
  return v;
}

function text(backend: string, o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw protocolError(backend, `${key} is ${String(v)}`);
  return v;
}

/** HTTP GET /info: `model_type` is externally tagged (`{"embedding":{"pooling":"mean"}}`). */
export function infoFromHttp(backend: string, json: unknown): BackendInfo {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw protocolError(backend, 'not an object');
  const o = json as Record<string, unknown>;
  const tagged = o.model_type;
  if (tagged === null || typeof tagged !== 'object') throw protocolError(backend, 'model_type is missing');
  const kind = Object.keys(tagged)[0] as ModelKind | undefined;
  if (kind !== 'embedding' && kind !== 'classifier' && kind !== 'reranker') {
    throw protocolError(backend, `unknown model_type ${String(kind)}`);
  }
  let pooling: Pooling | undefined;
  if (kind === 'embedding') {
    const p = (tagged as { embedding?: { pooling?: unknown } }).embedding?.pooling;
    // TEI serialises Pool::LastToken as "last_token"; accept the CLI spelling too.
    const normalised = p === 'last-token' ? 'last_token' : p;
    if (!POOLINGS.includes(normalised as Pooling))
      throw protocolError(backend, `unknown pooling ${String(p)}`);
    pooling = normalised as Pooling;
  }
  const maxBatchRequests = o.max_batch_requests == null ? undefined : uint(backend, o, 'max_batch_requests');
  return {
    modelId: text(backend, o, 'model_id'),
    modelType: kind,
    pooling,
    maxConcurrentRequests: uint(backend, o, 'max_concurrent_requests'),
    maxInputLength: uint(backend, o, 'max_input_length'),
    maxBatchTokens: uint(backend, o, 'max_batch_tokens'),
    maxBatchRequests,
    maxClientBatchSize: uint(backend, o, 'max_client_batch_size'),
    version: text(backend, o, 'version'),
    autoTruncate: typeof o.auto_truncate === 'boolean' ? o.auto_truncate : undefined,
  };
}

const GRPC_MODEL_TYPES: Record<string, ModelKind> = {
  MODEL_TYPE_EMBEDDING: 'embedding',
  MODEL_TYPE_CLASSIFIER: 'classifier',
  MODEL_TYPE_RERANKER: 'reranker',
};

/** tei.v1.InfoResponse as decoded by proto/load.ts (enums as names, proto3 defaults absent). */
export function infoFromGrpc(backend: string, msg: Record<string, unknown>): BackendInfo {
  const withDefaults: Record<string, unknown> = {
    version: '',
    model_id: '',
    max_concurrent_requests: 0,
    max_input_length: 0,
    max_batch_tokens: 0,
    max_client_batch_size: 0,
    ...msg,
  };
  const rawType = msg.model_type ?? 'MODEL_TYPE_EMBEDDING';
  const modelType = typeof rawType === 'string' ? GRPC_MODEL_TYPES[rawType] : undefined;
  if (!modelType) throw protocolError(backend, `unknown model_type ${String(rawType)}`);
  return {
    modelId: text(backend, withDefaults, 'model_id'),
    modelType,
    pooling: undefined,
    maxConcurrentRequests: uint(backend, withDefaults, 'max_concurrent_requests'),
    maxInputLength: uint(backend, withDefaults, 'max_input_length'),
    maxBatchTokens: uint(backend, withDefaults, 'max_batch_tokens'),
    maxBatchRequests: msg.max_batch_requests == null ? undefined : uint(backend, msg, 'max_batch_requests'),
    maxClientBatchSize: uint(backend, withDefaults, 'max_client_batch_size'),
    version: text(backend, withDefaults, 'version'),
    autoTruncate: undefined,
  };
}
