/**
 * `tei-router bench-client`: load-tests a router (or tei-manager, or TEI over HTTP) and prints one JSON report on
 * stdout. Accepts tei-manager's bench-client flags unchanged (-e, -i, -m/--mode, -n, -b, --cert, --key, --ca,
 * --insecure, --noop, --max-message-size-mb) and adds modes (stream, http, openai), --model, --concurrency,
 * --duration, --warmup, --timeout, --seed, realistic texts, latency percentiles and an exit status.
 *
 * `-m` is tei-manager's short form of --mode; tei-router's brief also gave it to --model. Both work: `-m` followed
 * by a mode name (standard, arrow, stream, http, openai) is --mode, any other value is --model.
 */
import type { BenchFlags, BenchMode, ProgressMode } from '../bench-client/settings.js';
import { MODES, PROGRESS, resolveSettings } from '../bench-client/settings.js';
import type { CommandSpec, FlagValues } from './flags.js';
import { helpText, parseFlags } from './flags.js';

export const benchClientCommand: CommandSpec = {
  name: 'bench-client',
  summary:
    'Load-test a router or TEI endpoint (tei-manager bench-client compatible): one JSON report on stdout ' +
    '(exit status 0: all requests succeeded, 1: some failed, 2: usage error).',
  usage: 'tei-router bench-client -e <url> (-i <instance> | --model <id>) [--mode <mode>] [flags]',
  flags: [
    {
      name: 'endpoint',
      short: 'e',
      type: 'string',
      help:
        'Required. http:// or grpc:// (plaintext), https:// or grpcs:// (TLS). gRPC modes take http(s):// as ' +
        'gRPC too (tei-manager: -e https://localhost:9001); HTTP modes need http(s):// and the HTTP port',
    },
    {
      name: 'instance',
      short: 'i',
      type: 'string',
      help: 'tei_multiplexer Target.instance_name (a model name, alias or backend URL); gRPC modes need it or --model',
    },
    {
      name: 'model',
      type: 'string',
      help:
        'Target.model_id in gRPC modes; x-model header (http) or "model" (openai) in HTTP modes, where unset ' +
        "means the router's default model. -m with a value other than a mode name is --model",
    },
    {
      name: 'mode',
      type: 'string',
      choices: MODES,
      default: 'standard',
      help:
        'standard: unary Embed per text; arrow: EmbedArrow batches (Arrow IPC, LZ4_FRAME); stream: one ' +
        'EmbedStream per batch; http: TEI POST /embed; openai: POST /v1/embeddings. -m with a mode name is --mode',
    },
    {
      name: 'num-texts',
      short: 'n',
      type: 'int',
      min: 1,
      default: 10000,
      help: 'Texts to embed (measured); texts and requests are built before the clock starts',
    },
    {
      name: 'batch-size',
      short: 'b',
      type: 'int',
      min: 1,
      default: 100,
      help: 'Texts per request (arrow, stream, http, openai); in standard mode the concurrency when -c is unset',
    },
    {
      name: 'concurrency',
      short: 'c',
      type: 'int',
      min: 1,
      max: 100000,
      help: 'Requests in flight (unset: --batch-size in standard mode, 1 in arrow mode as tei-manager, else 4)',
    },
    {
      name: 'duration',
      type: 'number',
      min: 0,
      default: 0,
      help: 'Stop sending after this many seconds even if texts remain (0 = no limit)',
    },
    { name: 'warmup', type: 'int', min: 0, default: 10, help: 'Requests sent first and not measured' },
    {
      name: 'timeout',
      type: 'number',
      min: 0.001,
      default: 60,
      help: 'Seconds one request may take (gRPC deadline, HTTP headers/body timeout)',
    },
    { name: 'cert', type: 'string', help: 'Client certificate (PEM) for mTLS; needs --key' },
    { name: 'key', type: 'string', help: 'Key of --cert (PEM)' },
    {
      name: 'ca',
      type: 'string',
      help: "CA certificate(s) (PEM) that signed the server's certificate (unset: the system's roots)",
    },
    {
      name: 'insecure',
      type: 'bool',
      default: false,
      help:
        'As tei-manager: check the server certificate against the name localhost instead of the host dialled. ' +
        'It does NOT skip verification',
    },
    { name: 'noop', type: 'bool', default: false, help: 'Arrow mode: noop=true (no backend, 384-d zeros)' },
    {
      name: 'compression',
      type: 'bool',
      default: true,
      help: 'Arrow mode: LZ4_FRAME-compress the request batches; --no-compression sends them uncompressed',
    },
    {
      name: 'max-message-size-mb',
      type: 'int',
      min: 1,
      max: 2047,
      default: 100,
      help: 'gRPC message size limit, both ways, in MiB',
    },
    { name: 'seed', type: 'int', min: 0, max: 4294967295, default: 1, help: 'Seed of the text generator' },
    {
      name: 'text-tokens',
      type: 'number',
      min: 1,
      default: 24,
      help: 'Mean text length in tokens (approximate: words × 1.3); lengths are log-normal, deterministic per seed',
    },
    {
      name: 'text-tokens-max',
      type: 'int',
      min: 1,
      default: 256,
      help: 'Longest text in tokens (approximate)',
    },
    {
      name: 'progress',
      type: 'string',
      choices: PROGRESS,
      default: 'auto',
      help: 'Progress on stderr: auto = on a terminal, once the run has lasted a second',
    },
  ],
};

/** tei-manager's `-m <mode>` and the brief's `-m <model>`: `-m` followed by a mode name is --mode, else --model. */
export function expandShortM(argv: readonly string[]): string[] {
  const out = [...argv];
  for (let i = 0; i < out.length - 1; i++) {
    if (out[i] === '-m') {
      out[i] = (MODES as readonly string[]).includes(out[i + 1]) ? '--mode' : '--model';
      i++;
    } else if (!out[i].startsWith('-') || out[i] === '--') {
      continue;
    } else if (!out[i].includes('=')) {
      // skip the value of a flag that takes one, so `--model -m` style values are not rewritten
      const name = out[i].replace(/^--?/, '');
      const spec = benchClientCommand.flags.find((f) => f.name === name || f.short === name);
      if (spec && spec.type !== 'bool') i++;
    }
  }
  if (out[out.length - 1] === '-m') out[out.length - 1] = '--mode';
  return out;
}

export function benchFlagsFromValues(v: FlagValues): BenchFlags {
  const str = (x: unknown) => (typeof x === 'string' ? x : undefined);
  return {
    endpoint: str(v.endpoint),
    instance: str(v.instance),
    model: str(v.model),
    mode: v.mode as BenchMode,
    numTexts: v.numTexts as number,
    batchSize: v.batchSize as number,
    concurrency: v.concurrency as number | undefined,
    duration: v.duration as number,
    warmup: v.warmup as number,
    timeout: v.timeout as number,
    cert: str(v.cert),
    key: str(v.key),
    ca: str(v.ca),
    insecure: v.insecure as boolean,
    noop: v.noop as boolean,
    compression: v.compression as boolean,
    maxMessageSizeMb: v.maxMessageSizeMb as number,
    seed: v.seed as number,
    textTokens: v.textTokens as number,
    textTokensMax: v.textTokensMax as number,
    progress: v.progress as ProgressMode,
  };
}

/**
 * grpc-js sets the TLS server name to the host dialled even when it is an IP address, and Node warns about that
 * (DEP0123) on every connection; that warning says nothing to a bench-client user, every other warning still shows.
 */
function quietIpServernameWarning(): void {
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.code === 'DEP0123') return;
    for (const l of listeners) l(w);
  });
}

/** Runs the command; resolves with the exit status (0 all succeeded, 1 some failed). Usage errors throw. */
export async function runBenchClient(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(benchClientCommand, expandShortM(argv));
  if (help) {
    process.stdout.write(helpText(benchClientCommand));
    return 0;
  }
  const settings = resolveSettings(benchFlagsFromValues(values));
  const { readTlsFiles, runBench } = await import('../bench-client/run.js');
  const files = readTlsFiles(settings);
  quietIpServernameWarning();
  const stop = { requested: false };
  const onSigint = () => {
    stop.requested = true;
    process.stderr.write(
      '\nbench-client: interrupted: finishing the requests in flight (Ctrl-C again to quit)\n',
    );
    process.removeListener('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  try {
    const { report, exitCode } = await runBench(settings, files, { stderr: process.stderr, stop });
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return exitCode;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
