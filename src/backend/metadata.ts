/**
 * TEI's per-response metadata, read from either transport into one shape (ResponseMetadata, nanoseconds):
 * HTTP x-* headers (whole milliseconds; batch means computed by TEI) and the gRPC `Metadata` message (ns, per item;
 * a stream's items are aggregated here: characters and tokens summed, times averaged).
 */
import type { ResponseMetadata } from '../tei/types.js';
import type { BackendTimings } from './types.js';

export type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): number | undefined {
  const raw = headers[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** undefined when the response carries no x-compute-tokens (TEI sends the x-* set on inference routes only). */
export function metaFromHeaders(headers: HeaderBag): ResponseMetadata | undefined {
  const tokens = header(headers, 'x-compute-tokens');
  if (tokens === undefined) return undefined;
  const ns = (name: string) => (header(headers, name) ?? 0) * 1e6;
  return {
    computeChars: header(headers, 'x-compute-characters') ?? 0,
    computeTokens: tokens,
    totalTimeNs: ns('x-total-time'),
    tokenizationTimeNs: ns('x-tokenization-time'),
    queueTimeNs: ns('x-queue-time'),
    inferenceTimeNs: ns('x-inference-time'),
  };
}

/** The tei.v1 `Metadata` message as decoded (fields at their default are absent). */
export interface GrpcMetadataMessage {
  compute_chars?: number;
  compute_tokens?: number;
  total_time_ns?: number;
  tokenization_time_ns?: number;
  queue_time_ns?: number;
  inference_time_ns?: number;
}

export function metaFromGrpc(m: GrpcMetadataMessage | undefined | null): ResponseMetadata {
  return {
    computeChars: m?.compute_chars ?? 0,
    computeTokens: m?.compute_tokens ?? 0,
    totalTimeNs: m?.total_time_ns ?? 0,
    tokenizationTimeNs: m?.tokenization_time_ns ?? 0,
    queueTimeNs: m?.queue_time_ns ?? 0,
    inferenceTimeNs: m?.inference_time_ns ?? 0,
  };
}

/** A stream's items as one response: sums of sizes, floor means of times (as TEI's HTTP batch headers). */
export class MetaAccumulator {
  private count = 0;
  private chars = 0;
  private tokens = 0;
  private total = 0;
  private tokenization = 0;
  private queue = 0;
  private inference = 0;

  add(m: ResponseMetadata): void {
    this.count++;
    this.chars += m.computeChars;
    this.tokens += m.computeTokens;
    this.total += m.totalTimeNs;
    this.tokenization += m.tokenizationTimeNs;
    this.queue += m.queueTimeNs;
    this.inference += m.inferenceTimeNs;
  }

  result(): ResponseMetadata {
    const n = Math.max(1, this.count);
    const mean = (v: number) => Math.floor(v / n);
    return {
      computeChars: this.chars,
      computeTokens: this.tokens,
      totalTimeNs: mean(this.total),
      tokenizationTimeNs: mean(this.tokenization),
      queueTimeNs: mean(this.queue),
      inferenceTimeNs: mean(this.inference),
    };
  }
}

export function timingsOf(m: ResponseMetadata | undefined): BackendTimings {
  return {
    totalNs: m?.totalTimeNs ?? 0,
    tokenizationNs: m?.tokenizationTimeNs ?? 0,
    queueNs: m?.queueTimeNs ?? 0,
    inferenceNs: m?.inferenceTimeNs ?? 0,
  };
}
