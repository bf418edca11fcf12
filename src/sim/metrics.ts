/** TEI's Prometheus metrics (router/src/prometheus.rs names, no `_total` suffix), one registry per simulator. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

function geometric(start: number, factor: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0, v = start; i < count; i++, v *= factor) out.push(v);
  return out;
}

function powersOfTwo(maxExp: number): number[] {
  return Array.from({ length: maxExp + 1 }, (_, i) => 2 ** i);
}

export class SimMetrics {
  readonly registry = new Registry();
  /** TEI renders nothing until the first metric is recorded. */
  used = false;
  readonly requestCount: Counter<'method'>;
  readonly requestSuccess: Counter<'method'>;
  readonly requestFailure: Counter<'err'>;
  readonly queueSize: Gauge;
  readonly requestDuration: Histogram;
  readonly inputLength: Histogram;
  readonly batchSize: Histogram;
  readonly batchTokens: Histogram;

  constructor(maxInputLength: number) {
    const registers = [this.registry];
    this.requestCount = new Counter({
      name: 'te_request_count',
      help: 'requests received',
      labelNames: ['method'],
      registers,
    });
    this.requestSuccess = new Counter({
      name: 'te_request_success',
      help: 'requests answered',
      labelNames: ['method'],
      registers,
    });
    this.requestFailure = new Counter({
      name: 'te_request_failure',
      help: 'requests failed',
      labelNames: ['err'],
      registers,
    });
    this.queueSize = new Gauge({ name: 'te_queue_size', help: 'queued items', registers });
    this.requestDuration = new Histogram({
      name: 'te_request_duration',
      help: 'request duration in seconds',
      buckets: geometric(1.5e-5, 1.5, 35),
      registers,
    });
    this.inputLength = new Histogram({
      name: 'te_request_input_length',
      help: 'tokens per input item',
      buckets: powersOfTwo(Math.ceil(Math.log2(Math.max(2, maxInputLength)))),
      registers,
    });
    this.batchSize = new Histogram({
      name: 'te_batch_next_size',
      help: 'items per forward batch',
      buckets: powersOfTwo(12),
      registers,
    });
    this.batchTokens = new Histogram({
      name: 'te_batch_next_tokens',
      help: 'tokens per forward batch',
      buckets: powersOfTwo(20),
      registers,
    });
  }

  async render(): Promise<string> {
    return this.used ? this.registry.metrics() : '';
  }
}
