/**
 * Progress of a `bench-client` run on stderr (stdout carries only the JSON report). On a terminal: one line
 * redrawn in place (a bar, counts, rate), at most 5 times a second. Elsewhere (--progress always with stderr
 * redirected): a plain line every 2 seconds. `auto` shows it only on a terminal, and only once the run has lasted
 * a second (short runs print nothing).
 */
import type { ProgressMode } from './settings.js';

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class Progress {
  private readonly enabled: boolean;
  private readonly tty: boolean;
  /** auto: nothing is drawn before the run has lasted this long. */
  private readonly delayMs: number;
  private readonly startedAt = performance.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    mode: ProgressMode,
    private readonly out: ProgressStream,
    private readonly total: number,
  ) {
    this.tty = out.isTTY === true;
    this.enabled = mode === 'always' || (mode === 'auto' && this.tty);
    this.delayMs = mode === 'auto' ? 1000 : 0;
  }

  /** `done` requests of `total` finished, `failed` of them failed, `texts` texts sent. */
  update(done: number, failed: number, texts: number, force = false): void {
    if (!this.enabled) return;
    const now = performance.now();
    const elapsed = now - this.startedAt;
    if (elapsed < this.delayMs && !force) return;
    if (!force && now - this.lastDraw < (this.tty ? 200 : 2000)) return;
    this.lastDraw = now;
    const s = elapsed / 1000;
    const pct = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const rate = s > 0 ? Math.round(texts / s) : 0;
    const counts = `${done}/${this.total} requests, ${failed} failed, ${rate} texts/s, ${s.toFixed(1)} s`;
    if (this.tty) {
      const width = 24;
      const fill = Math.round(pct * width);
      const line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(pct * 100).toFixed(0).padStart(3)}% ${counts}`;
      this.out.write(`\r${line.slice(0, Math.max(20, (this.out.columns || 120) - 1))}\x1b[K`);
    } else {
      this.out.write(`bench-client: ${counts}\n`);
    }
    this.drawn = true;
  }

  /** Ends the progress line (the next stderr output starts on a fresh line). */
  finish(done: number, failed: number, texts: number): void {
    if (!this.enabled || !this.drawn) return;
    this.update(done, failed, texts, true);
    if (this.tty) this.out.write('\n');
  }
}
