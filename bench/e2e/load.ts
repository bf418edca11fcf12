/**
 * Closed-loop load: `concurrency` callers each issue the next request when their last one answered, until a count
 * or a time limit (both always set). Latencies are kept exactly (bounded by the count) and summarised by sorting.
 */
import * as grpc from '@grpc/grpc-js';
import { Pool } from 'undici';
import { clientConstructor } from '../../src/proto/load.js';

export interface LoadResult {
  requests: number;
  errors: number;
  firstError: string | undefined;
  seconds: number;
  /** Latency of each successful request, ms. */
  latencies: Float64Array;
}

export async function closedLoop(opts: {
  concurrency: number;
  maxRequests: number;
  maxSeconds: number;
  call: (i: number) => Promise<void>;
}): Promise<LoadResult> {
  const latencies = new Float64Array(opts.maxRequests);
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  let issued = 0;
  const started = performance.now();
  const deadline = started + opts.maxSeconds * 1000;
  const caller = async () => {
    while (issued < opts.maxRequests && performance.now() < deadline) {
      const i = issued++;
      const t0 = performance.now();
      try {
        await opts.call(i);
        latencies[ok++] = performance.now() - t0;
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, caller));
  return {
    requests: ok + errors,
    errors,
    firstError,
    seconds: (performance.now() - started) / 1000,
    latencies: latencies.slice(0, ok),
  };
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  mean: number;
  n: number;
}

export function percentiles(latencies: Float64Array): Percentiles {
  const s = Float64Array.from(latencies).sort();
  const at = (q: number) => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]);
  let sum = 0;
  for (const v of s) sum += v;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    mean: s.length ? sum / s.length : NaN,
    n: s.length,
  };
}

type Unary = (
  req: unknown,
  md: grpc.Metadata,
  cb: (err: grpc.ServiceError | null, res: unknown) => void,
) => void;

/** A tei.v1.Embed/Embed (or TeiMultiplexer) caller over one channel. */
export function grpcCaller(
  service: 'tei.v1.Embed' | 'tei_multiplexer.v1.TeiMultiplexer',
  method: string,
  hostPort: string,
  model?: string,
): { call: (req: unknown) => Promise<unknown>; close(): void } {
  const Ctor = clientConstructor(service);
  const client = new Ctor(hostPort, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 256 * 1024 * 1024,
    'grpc.max_send_message_length': 256 * 1024 * 1024,
  }) as unknown as Record<string, Unary> & grpc.Client;
  const md = new grpc.Metadata();
  if (model) md.set('x-model', model);
  return {
    call: (req) =>
      new Promise((resolve, reject) =>
        client[method](req, md, (err, res) => (err ? reject(err) : resolve(res))),
      ),
    close: () => client.close(),
  };
}

/** POST JSON to `origin + path` over a keep-alive pool; rejects on a non-200 answer. */
export function httpCaller(
  origin: string,
  connections: number,
): {
  post: (path: string, body: string, headers?: Record<string, string>) => Promise<void>;
  close(): Promise<void>;
} {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  return {
    post: async (path, body, headers = {}) => {
      const res = await pool.request({
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    },
    close: () => pool.close(),
  };
}
