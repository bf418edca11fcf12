/**
 * Request latencies for `tei-router bench-client`: an HDR histogram (hdr-histogram-js, pure JS) of microseconds
 * with 3 significant digits, so every percentile is within 0.1% of the true value, from 1 µs up (auto-resizing:
 * no upper limit). Max and mean are exact (tracked beside the histogram); percentiles are clamped to the exact
 * max, since HDR reports the top of a value's bucket.
 */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** null fields: nothing was recorded. */
export type LatencyReport = { [K in keyof LatencySummary]: number | null };

const ms = (us: number) => Math.round(us) / 1000;

export class LatencyHistogram {
  private readonly h = hdr.build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
    useWebAssembly: false,
  });
  private maxUs = 0;
  private sumUs = 0;
  private n = 0;

  /** Records one latency in milliseconds (fractions kept to the microsecond). */
  recordMs(latencyMs: number): void {
    const us = Math.max(1, Math.round(latencyMs * 1000));
    this.h.recordValue(us);
    this.n++;
    this.sumUs += us;
    if (us > this.maxUs) this.maxUs = us;
  }

  get count(): number {
    return this.n;
  }

  /** Percentiles, max and mean in milliseconds (3 decimals); nulls when nothing was recorded. */
  summary(): LatencyReport {
    if (this.n === 0) return { p50: null, p90: null, p99: null, p999: null, max: null, mean: null };
    const at = (p: number) => ms(Math.min(this.maxUs, this.h.getValueAtPercentile(p)));
    return {
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: ms(this.maxUs),
      mean: ms(this.sumUs / this.n),
    };
  }

  destroy(): void {
    this.h.destroy();
  }
}
