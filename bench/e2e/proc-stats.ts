/**
 * CPU time and memory of other processes, read from Linux's /proc (the bench measures the router's own CPU, so the
 * load generator's cost is excluded). CPU is utime + stime of the process and its threads, in seconds.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of `pid` (all its threads), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the parenthesised command name: state is field 3; utime 14, stime 15 (1-based)
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

/** Resident set size of `pid` in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** `pid` and every live process whose parent is `pid` (nginx: master + workers). */
export function withChildren(pid: number): number[] {
  const out = [pid];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** Samples the summed RSS of `pids()` every `everyMs` until stopped; returns the peak. */
export function rssSampler(pids: () => number[], everyMs = 50): { stop(): number } {
  let peak = 0;
  const sample = () => {
    let sum = 0;
    for (const p of pids()) {
      try {
        sum += rssBytes(p);
      } catch {
        // gone
      }
    }
    peak = Math.max(peak, sum);
  };
  sample();
  const t = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(t);
      sample();
      return peak;
    },
  };
}

export function totalCpu(pids: number[]): number {
  let s = 0;
  for (const p of pids) {
    try {
      s += cpuSeconds(p);
    } catch {
      // gone
    }
  }
  return s;
}
