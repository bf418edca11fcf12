/**
 * One `bench-client` run: texts generated and requests built up front, `--warmup` requests (not measured), then
 * the measured requests with `--concurrency` in flight until they are all done or `--duration` has passed (requests
 * in flight then finish; each is bounded by `--timeout`). Latency per request goes into an HDR histogram; failures
 * are counted by key, and the first of each kind is explained once on stderr (connection problems with their fix).
 */
import { readFileSync } from 'node:fs';
import { RouterError } from '../errors.js';
import { GrpcTransport } from './grpc.js';
import { LatencyHistogram } from './histogram.js';
import type { LatencyReport } from './histogram.js';
import { HttpTransport } from './http.js';
import { Progress } from './progress.js';
import type { ProgressStream } from './progress.js';
import type { BenchSettings } from './settings.js';
import { settingsJson } from './settings.js';
import { TextGenerator } from './text-gen.js';
import { classifyConnectionError } from './tls-errors.js';
import type { ConnectionContext } from './tls-errors.js';
import type { TlsFiles, Transport } from './transport.js';

export interface BenchReport {
  mode: string;
  endpoint: string;
  instance: string | null;
  model: string | null;
  settings: Record<string, unknown>;
  /** Texts in the measured requests sent. */
  texts: number;
  requests: number;
  successful: number;
  failed: number;
  errors_by_code: Record<string, number>;
  duration_s: number;
  /** Texts and requests that succeeded, per second of the measured phase. */
  throughput: { texts_per_s: number; requests_per_s: number };
  /** Per successful measured request. */
  latency_ms: LatencyReport;
}

export interface RunIo {
  stderr: ProgressStream;
  /** Set to true to stop sending (requests in flight finish). */
  stop?: { requested: boolean };
}

/** Reads --ca, --cert and --key; an unreadable file is ROUTER_ERR_CLI_FILE naming the flag. */
export function readTlsFiles(s: BenchSettings): TlsFiles {
  const read = (flag: string, file: string | null): Buffer | null => {
    if (file === null) return null;
    try {
      return readFileSync(file);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new RouterError(
        'ROUTER_ERR_CLI_FILE',
        `tei-router bench-client: --${flag} ${file}: cannot read the file (${why})`,
        { cause: err },
      );
    }
  };
  const files = { ca: read('ca', s.ca), cert: read('cert', s.cert), key: read('key', s.key) };
  for (const [flag, buf] of Object.entries(files)) {
    if (buf && !buf.toString('latin1').includes('-----BEGIN ')) {
      throw new RouterError(
        'ROUTER_ERR_CLI_FILE',
        `tei-router bench-client: --${flag} ${s[flag as keyof TlsFiles]}: not a PEM file (no -----BEGIN line)`,
      );
    }
  }
  return files;
}

export function makeTransport(s: BenchSettings, files: TlsFiles): Transport {
  return s.protocol === 'gRPC' ? new GrpcTransport(s, files) : new HttpTransport(s, files);
}

interface Item {
  request: unknown;
  texts: number;
}

function chunk(texts: string[], size: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < texts.length; i += size) out.push(texts.slice(i, i + size));
  return out;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** Runs the benchmark; `exitCode` is 0 when every measured request succeeded, else 1. */
export async function runBench(
  s: BenchSettings,
  files: TlsFiles,
  io: RunIo,
  transport: Transport = makeTransport(s, files),
): Promise<{ report: BenchReport; exitCode: number }> {
  const say = (line: string) => io.stderr.write(`bench-client: ${line}\n`);
  const stop = io.stop ?? { requested: false };
  for (const w of s.warnings) say(w);

  const gen = { meanTokens: s.textTokens, maxTokens: s.textTokensMax };
  const measured = chunk(new TextGenerator({ seed: s.seed, ...gen }).take(s.numTexts), s.textsPerRequest);
  const warmTexts = new TextGenerator({ seed: (s.seed ^ 0x5bd1e995) >>> 0, ...gen }).take(
    s.warmup * s.textsPerRequest,
  );
  const warm = chunk(warmTexts, s.textsPerRequest);
  const build = (batches: string[][]): Item[] =>
    batches.map((texts) => ({ request: transport.prepare(texts), texts: texts.length }));
  const warmItems = build(warm);
  const items = build(measured);

  const ctx: ConnectionContext = {
    tls: s.endpoint.tls,
    host: s.endpoint.host,
    port: s.endpoint.port,
    serverName: s.serverName ?? s.endpoint.host,
    clientCert: s.cert !== null,
    ca: s.ca !== null,
    insecure: s.insecure,
    answered: false,
    protocol: s.protocol,
  };
  const explained = new Set<string>();
  /** Counts a failure under its key and explains the first of each key on stderr. */
  const failure = (err: unknown): string => {
    const problem = classifyConnectionError(err, ctx);
    if (problem) {
      if (!explained.has(problem.label)) {
        explained.add(problem.label);
        say(problem.message);
      }
      return problem.label;
    }
    const info = transport.describe(err);
    if (info.answered) ctx.answered = true;
    if (!explained.has(info.key) && explained.size < 20) {
      explained.add(info.key);
      say(`first ${info.key} error: ${info.message}`);
    }
    return info.key;
  };

  const target = s.instance ? `instance ${s.instance}` : s.model ? `model ${s.model}` : 'the default model';
  say(
    `${s.mode} mode: ${s.numTexts} texts in ${items.length} requests of ${s.textsPerRequest}, ` +
      `${s.concurrency} in flight, ${target} at ${s.endpoint.url}` +
      `${s.endpoint.tls ? (s.cert ? ' (mTLS)' : ' (TLS)') : ''}` +
      `${s.warmup > 0 ? `, after ${warmItems.length} warm-up requests` : ''}`,
  );

  /** Runs `list` with the concurrency; `onDone` gets each result. Sends at least one request. */
  const phase = async (
    list: Item[],
    deadline: number | null,
    onDone: (item: Item, ms: number, err: unknown) => void,
  ) => {
    let next = 0;
    const worker = async () => {
      while (next < list.length && !stop.requested) {
        if (deadline !== null && next > 0 && performance.now() >= deadline) return;
        const item = list[next++];
        const t0 = performance.now();
        let error: unknown = null;
        try {
          await transport.send(item.request, item.texts);
        } catch (err) {
          error = err ?? new Error('request failed');
        }
        onDone(item, performance.now() - t0, error);
      }
    };
    await Promise.all(Array.from({ length: Math.min(s.concurrency, list.length) }, worker));
  };

  const hist = new LatencyHistogram();
  const errors: Record<string, number> = {};
  let requests = 0;
  let successful = 0;
  let failed = 0;
  let textsSent = 0;
  let textsOk = 0;
  let started = 0;
  let ended = 0;
  const progress = new Progress(s.progress, io.stderr, items.length);
  try {
    await phase(warmItems, null, (_item, _ms, err) => {
      if (err === null) ctx.answered = true;
      else failure(err);
    });
    started = performance.now();
    const deadline = s.durationS > 0 ? started + s.durationS * 1000 : null;
    await phase(items, deadline, (item, ms, err) => {
      requests++;
      textsSent += item.texts;
      if (err === null) {
        successful++;
        textsOk += item.texts;
        ctx.answered = true;
        hist.recordMs(ms);
      } else {
        failed++;
        const key = failure(err);
        errors[key] = (errors[key] ?? 0) + 1;
      }
      progress.update(requests, failed, textsSent);
    });
    ended = performance.now();
    progress.finish(requests, failed, textsSent);
  } finally {
    await transport.close();
  }
  if (stop.requested) say(`stopped after ${requests} of ${items.length} requests (interrupted)`);
  else if (requests < items.length)
    say(`stopped after ${requests} of ${items.length} requests (--duration ${s.durationS} s)`);

  const duration = (ended - started) / 1000;
  const latency = hist.summary();
  hist.destroy();
  const report: BenchReport = {
    mode: s.mode,
    endpoint: s.endpoint.url,
    instance: s.instance,
    model: s.model,
    settings: settingsJson(s),
    texts: textsSent,
    requests,
    successful,
    failed,
    errors_by_code: errors,
    duration_s: round(duration, 6),
    throughput: {
      texts_per_s: duration > 0 ? round(textsOk / duration, 2) : 0,
      requests_per_s: duration > 0 ? round(successful / duration, 2) : 0,
    },
    latency_ms: latency,
  };
  return { report, exitCode: failed === 0 && requests > 0 ? 0 : 1 };
}
