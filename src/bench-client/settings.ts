/**
 * The settings of one `tei-router bench-client` run: the parsed flags checked against each other and resolved
 * (mode-dependent defaults filled in), with every usage error a RouterError ROUTER_ERR_CLI_BAD_VALUE that names the
 * flag and the fix. Pure: reading the certificate files is the caller's (see readTlsFiles in ./run.ts).
 */
import { isIP } from 'node:net';
import { RouterError } from '../errors.js';

export const MODES = ['standard', 'arrow', 'stream', 'http', 'openai'] as const;
export type BenchMode = (typeof MODES)[number];

export const PROGRESS = ['auto', 'always', 'never'] as const;
export type ProgressMode = (typeof PROGRESS)[number];

export type Protocol = 'gRPC' | 'HTTP';

export function protocolOf(mode: BenchMode): Protocol {
  return mode === 'http' || mode === 'openai' ? 'HTTP' : 'gRPC';
}

/** The flags as parsed (undefined: not given and no default). */
export interface BenchFlags {
  endpoint?: string;
  instance?: string;
  model?: string;
  mode: BenchMode;
  numTexts: number;
  batchSize: number;
  concurrency?: number;
  duration: number;
  warmup: number;
  timeout: number;
  cert?: string;
  key?: string;
  ca?: string;
  insecure: boolean;
  noop: boolean;
  compression: boolean;
  maxMessageSizeMb: number;
  seed: number;
  textTokens: number;
  textTokensMax: number;
  progress: ProgressMode;
}

export interface Endpoint {
  /** As given, without a trailing slash. */
  url: string;
  scheme: 'http' | 'https' | 'grpc' | 'grpcs';
  tls: boolean;
  /** Host name or IP address, IPv6 without brackets. */
  host: string;
  port: number;
  /** host:port as a dial target (IPv6 in brackets). */
  authority: string;
  /** Path prefix of the HTTP routes ('' or '/prefix'). */
  basePath: string;
}

export interface BenchSettings {
  mode: BenchMode;
  protocol: Protocol;
  endpoint: Endpoint;
  instance: string | null;
  model: string | null;
  numTexts: number;
  batchSize: number;
  /** Texts in one request: 1 in standard mode, else the batch size. */
  textsPerRequest: number;
  concurrency: number;
  /** Seconds; 0 = no limit. */
  durationS: number;
  warmup: number;
  timeoutS: number;
  cert: string | null;
  key: string | null;
  ca: string | null;
  insecure: boolean;
  /** The name checked against the server certificate (TLS only). */
  serverName: string | null;
  noop: boolean;
  compression: boolean;
  maxMessageSizeMb: number;
  seed: number;
  textTokens: number;
  textTokensMax: number;
  progress: ProgressMode;
  /** Flags given that this mode ignores, to say once on stderr. */
  warnings: string[];
}

const CMD = 'tei-router bench-client';

function bad(message: string): RouterError {
  return new RouterError('ROUTER_ERR_CLI_BAD_VALUE', `${CMD}: ${message}`);
}

const DEFAULT_PORTS = { http: 80, https: 443, grpc: 9001, grpcs: 9001 } as const;

/** Parses --endpoint for the mode: scheme, host, port; HTTP modes refuse grpc(s)://, gRPC modes refuse a path. */
export function parseEndpoint(raw: string, mode: BenchMode): Endpoint {
  const protocol = protocolOf(mode);
  const example = protocol === 'gRPC' ? 'grpc://127.0.0.1:9001' : 'http://127.0.0.1:8080';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad(
      `--endpoint ${JSON.stringify(raw)} is not a URL: expected http://, https://, grpc:// or grpcs:// and ` +
        `host:port, e.g. -e ${example}`,
    );
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'grpc' && scheme !== 'grpcs') {
    throw bad(
      `--endpoint ${JSON.stringify(raw)}: scheme ${scheme}:// is not one of http://, https:// (TLS), grpc://, ` +
        `grpcs:// (TLS), e.g. -e ${example}`,
    );
  }
  if (protocol === 'HTTP' && (scheme === 'grpc' || scheme === 'grpcs')) {
    const fix = scheme === 'grpcs' ? 'https' : 'http';
    throw bad(
      `--endpoint ${JSON.stringify(raw)}: --mode ${mode} speaks HTTP (TEI /embed, OpenAI /v1/embeddings): use ` +
        `${fix}://${url.host || 'host:port'} with the router's HTTP port (http.port, default 8080), or a gRPC ` +
        'mode (--mode standard, arrow or stream) for a gRPC endpoint',
    );
  }
  if (!url.hostname) throw bad(`--endpoint ${JSON.stringify(raw)} has no host, e.g. -e ${example}`);
  if (url.username || url.password || url.search || url.hash) {
    throw bad(`--endpoint ${JSON.stringify(raw)}: no user, password, query or fragment allowed`);
  }
  const basePath = url.pathname.replace(/\/+$/, '');
  if (protocol === 'gRPC' && basePath !== '') {
    throw bad(`--endpoint ${JSON.stringify(raw)}: a gRPC endpoint has no path; use ${scheme}://${url.host}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[scheme];
  return {
    url: raw.replace(/\/+$/, ''),
    scheme,
    tls: scheme === 'https' || scheme === 'grpcs',
    host,
    port,
    authority: `${isIP(host) === 6 ? `[${host}]` : host}:${port}`,
    basePath: protocol === 'HTTP' ? basePath : '',
  };
}

/** Checks the flags against each other and resolves the defaults that depend on the mode. */
export function resolveSettings(f: BenchFlags): BenchSettings {
  if (f.endpoint === undefined || f.endpoint === '') {
    throw bad(
      'missing required flag --endpoint (-e): the address of the router or TEI server, e.g. ' +
        '-e grpc://127.0.0.1:9001 (gRPC modes; https:// or grpcs:// for TLS) or -e http://127.0.0.1:8080 ' +
        '(--mode http or openai)',
    );
  }
  const protocol = protocolOf(f.mode);
  const endpoint = parseEndpoint(f.endpoint, f.mode);
  const instance = f.instance || null;
  const model = f.model || null;
  if (protocol === 'gRPC') {
    if (!instance && !model) {
      throw bad(
        `missing required flag --instance (-i) or --model for --mode ${f.mode}: the tei_multiplexer Target, ` +
          'e.g. -i my-model (a model name, alias or backend URL) or --model BAAI/bge-small-en-v1.5 (a model id)',
      );
    }
    if (instance && model) {
      throw bad(
        '--instance and --model are two kinds of tei_multiplexer Target (instance_name, model_id): give one',
      );
    }
  } else if (instance && model) {
    throw bad(
      `--mode ${f.mode} sends one model name (x-model / "model"): give --model or --instance, not both`,
    );
  }
  if ((f.cert === undefined) !== (f.key === undefined)) {
    throw bad(
      `--${f.cert === undefined ? 'key' : 'cert'} needs --${f.cert === undefined ? 'cert' : 'key'}: mTLS takes ` +
        'the client certificate and its key together',
    );
  }
  if (!endpoint.tls) {
    const tlsOnly = (['cert', 'key', 'ca', 'insecure'] as const).filter((k) =>
      k === 'insecure' ? f.insecure : f[k] !== undefined,
    );
    if (tlsOnly.length > 0) {
      const secure = endpoint.scheme === 'grpc' ? 'grpcs' : 'https';
      throw bad(
        `${tlsOnly.map((k) => `--${k}`).join(', ')} need${tlsOnly.length === 1 ? 's' : ''} a TLS endpoint: ` +
          `use ${secure}://${endpoint.authority} (TLS is chosen by the scheme)`,
      );
    }
  }
  if (f.textTokensMax < f.textTokens) {
    throw bad(`--text-tokens-max ${f.textTokensMax} is below --text-tokens ${f.textTokens}`);
  }
  const warnings: string[] = [];
  if (f.mode !== 'arrow') {
    if (f.noop) warnings.push(`--noop applies to --mode arrow only; ignored in --mode ${f.mode}`);
    if (!f.compression)
      warnings.push(`--no-compression applies to --mode arrow only; ignored in --mode ${f.mode}`);
  }
  const textsPerRequest = f.mode === 'standard' ? 1 : f.batchSize;
  // tei-manager: standard mode runs batch-size requests at once, arrow mode one at a time
  const concurrency = f.concurrency ?? (f.mode === 'standard' ? f.batchSize : f.mode === 'arrow' ? 1 : 4);
  return {
    mode: f.mode,
    protocol,
    endpoint,
    instance,
    model: protocol === 'HTTP' ? (model ?? instance) : model,
    numTexts: f.numTexts,
    batchSize: f.batchSize,
    textsPerRequest,
    concurrency,
    durationS: f.duration,
    warmup: f.warmup,
    timeoutS: f.timeout,
    cert: f.cert ?? null,
    key: f.key ?? null,
    ca: f.ca ?? null,
    insecure: f.insecure,
    serverName: endpoint.tls ? (f.insecure ? 'localhost' : endpoint.host) : null,
    noop: f.noop,
    compression: f.compression,
    maxMessageSizeMb: f.maxMessageSizeMb,
    seed: f.seed,
    textTokens: f.textTokens,
    textTokensMax: f.textTokensMax,
    progress: f.progress,
    warnings,
  };
}

/** The resolved settings as they appear in the JSON report. */
export function settingsJson(s: BenchSettings): Record<string, unknown> {
  return {
    num_texts: s.numTexts,
    batch_size: s.batchSize,
    texts_per_request: s.textsPerRequest,
    concurrency: s.concurrency,
    duration_limit_s: s.durationS,
    warmup_requests: s.warmup,
    timeout_s: s.timeoutS,
    protocol: s.protocol,
    tls: s.endpoint.tls,
    server_name: s.serverName,
    cert: s.cert,
    key: s.key,
    ca: s.ca,
    insecure: s.insecure,
    noop: s.noop,
    compression: s.mode === 'arrow' ? (s.compression ? 'lz4_frame' : 'none') : null,
    max_message_size_mb: s.maxMessageSizeMb,
    seed: s.seed,
    text_tokens: s.textTokens,
    text_tokens_max: s.textTokensMax,
    progress: s.progress,
  };
}
