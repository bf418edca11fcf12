/**
 * Change detection for TLS files by polling their bytes. Polling (not fs.watch) because cert-manager and
 * Kubernetes rotate secrets by swapping a `..data` symlink, which inotify on the file itself does not report; reading
 * a few small PEM files per interval is cheap and sees every kind of replacement (in place, rename, symlink swap).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export interface FileWatch {
  stop(): void;
  /** Runs one check now (tests, and after a reload to settle). */
  check(): Promise<void>;
}

/**
 * Every `intervalMs`, reads the files of `known()` and calls `onChange()` when any file's bytes differ or a file
 * cannot be read. A change that `onChange` rejected is not retried until the files change again, so a bad or
 * missing file is reported once, not every tick.
 */
export function watchFiles(
  known: () => ReadonlyMap<string, Buffer>,
  intervalMs: number,
  onChange: () => Promise<boolean>,
): FileWatch {
  let running = false;
  let rejected: string | null = null;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      const now = known();
      const hash = createHash('sha256');
      let changed = false;
      for (const [path, bytes] of now) {
        let current: Buffer;
        try {
          current = await readFile(path);
        } catch (err) {
          // a file that cannot be read is a change too (the reload reports it once, and keeps the old material)
          hash.update(path).update(`unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`);
          changed = true;
          continue;
        }
        hash.update(path).update(current);
        if (!current.equals(bytes)) changed = true;
      }
      if (!changed) {
        rejected = null;
        return;
      }
      const signature = hash.digest('hex');
      if (signature === rejected) return;
      const ok = await onChange();
      rejected = ok ? null : signature;
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), check };
}
