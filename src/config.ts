/**
 * The router's one typed configuration. Sources, highest precedence first: command-line flags, environment
 * variables (`TEI_ROUTER_*`), a TOML file (`--config`), then the defaults below. Every scalar key is declared once
 * in `KEYS` (TOML path, type, default, env name, flag name, meaning); the README's table is checked against it.
 * Unknown keys are an error naming the key and the file.
 */
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { RouterError } from './errors.js';

export interface ListenerConfig {
  host: string;
  port: number;
}

export interface ModelConfig {
  /** The name clients use (`model`, `x-model`, `instance_name`, `model_id`). */
  name: string;
  aliases: string[];
  /** Path to the model's tokenizer.json; unset: found in the local HF cache, else estimated. */
  tokenizer: string | undefined;
  /** Backend URLs: http://, https://, grpc://, grpcs://. */
  backends: string[];
  /** Overrides of the global batching settings. */
  coalesceMs: number | undefined;
  maxBatchTokens: number | undefined;
  maxClientBatchSize: number | undefined;
}

export interface RouterConfig {
  grpc: ListenerConfig & { maxMessageBytes: number };
  http: ListenerConfig & { jsonBodyLimit: number; arrowBodyLimit: number };
  admin: ListenerConfig;
  uws: ListenerConfig & { enabled: boolean };
  pool: { threads: number; maxQueue: number };
  batching: { coalesceMs: number };
  backend: { timeoutMs: number; infoRefreshMs: number };
  defaultModel: string | undefined;
  models: ModelConfig[];
  /** Where the values came from, for the startup banner. */
  sources: string[];
}

type KeyType = 'string' | 'port' | 'int' | 'number' | 'bool';

export interface KeySpec {
  /** TOML path, e.g. `http.port`. */
  path: string;
  type: KeyType;
  default: string | number | boolean | undefined;
  doc: string;
  min?: number;
}

export const KEYS: readonly KeySpec[] = [
  {
    path: 'default_model',
    type: 'string',
    default: undefined,
    doc: 'Model used when a request names none (default: the first model)',
  },
  { path: 'grpc.host', type: 'string', default: '127.0.0.1', doc: 'gRPC listener address' },
  { path: 'grpc.port', type: 'port', default: 9001, doc: 'gRPC listener port (0: any free port)' },
  {
    path: 'grpc.max_message_bytes',
    type: 'int',
    default: 41_943_040,
    min: 1024,
    doc: 'Largest gRPC message received or sent',
  },
  { path: 'http.host', type: 'string', default: '127.0.0.1', doc: 'HTTP listener address (h2 and HTTP/1.1)' },
  { path: 'http.port', type: 'port', default: 8080, doc: 'HTTP listener port (0: any free port)' },
  {
    path: 'http.json_body_limit',
    type: 'int',
    default: 2_000_000,
    min: 1,
    doc: 'Largest JSON request body in bytes (TEI: 2 MB)',
  },
  {
    path: 'http.arrow_body_limit',
    type: 'int',
    default: 67_108_864,
    min: 1,
    doc: 'Largest Arrow IPC request body in bytes',
  },
  {
    path: 'admin.host',
    type: 'string',
    default: '127.0.0.1',
    doc: 'Admin listener address (/metrics, /health, /ready, /v1/backends)',
  },
  { path: 'admin.port', type: 'port', default: 9000, doc: 'Admin listener port (0: any free port)' },
  {
    path: 'uws.enabled',
    type: 'bool',
    default: false,
    doc: 'Start the optional plaintext uWebSockets.js HTTP/1.1 listener (trusted networks only)',
  },
  { path: 'uws.host', type: 'string', default: '127.0.0.1', doc: 'uWebSockets.js listener address' },
  { path: 'uws.port', type: 'port', default: 8081, doc: 'uWebSockets.js listener port (0: any free port)' },
  {
    path: 'pool.threads',
    type: 'int',
    default: 2,
    min: 1,
    doc: 'Worker threads that tokenize, batch and call backends',
  },
  {
    path: 'pool.max_queue',
    type: 'int',
    default: 4096,
    min: 1,
    doc: 'Tasks waiting for a worker before requests are refused',
  },
  {
    path: 'batching.coalesce_ms',
    type: 'number',
    default: 2,
    min: 0,
    doc: 'Longest wait to coalesce requests for one model (0: off)',
  },
  { path: 'backend.timeout_ms', type: 'int', default: 30_000, min: 1, doc: 'Deadline of one backend call' },
  {
    path: 'backend.info_refresh_ms',
    type: 'int',
    default: 30_000,
    min: 100,
    doc: 'How often each backend /info is read again',
  },
];

const MODEL_KEYS = new Set([
  'name',
  'aliases',
  'tokenizer',
  'backends',
  'coalesce_ms',
  'max_batch_tokens',
  'max_client_batch_size',
]);

/** `http.json_body_limit` → `TEI_ROUTER_HTTP_JSON_BODY_LIMIT`. */
export function envName(path: string): string {
  return 'TEI_ROUTER_' + path.replace(/\./g, '_').toUpperCase();
}

/** `http.json_body_limit` → `--http-json-body-limit`. */
export function flagName(path: string): string {
  return '--' + path.replace(/[._]/g, '-');
}

function bad(message: string): RouterError {
  return new RouterError('ROUTER_ERR_CONFIG', message);
}

function convert(spec: KeySpec, raw: unknown, where: string): string | number | boolean {
  const fail = (why: string) => bad(`${where}: ${spec.path} = ${JSON.stringify(raw)}: ${why}`);
  const fromText = typeof raw === 'string' && spec.type !== 'string';
  switch (spec.type) {
    case 'string':
      if (typeof raw !== 'string') throw fail('expected a string');
      return raw;
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      if (fromText && /^(true|1|yes)$/i.test(raw)) return true;
      if (fromText && /^(false|0|no)$/i.test(raw)) return false;
      throw fail('expected true or false');
    }
    default: {
      const n = fromText ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n) || (fromText && (raw as string).trim() === '')) {
        throw fail('expected a number');
      }
      if (spec.type !== 'number' && !Number.isInteger(n)) throw fail('expected an integer');
      if (spec.type === 'port' && (n < 0 || n > 65535)) throw fail('expected a port between 0 and 65535');
      if (spec.min !== undefined && n < spec.min) throw fail(`must be at least ${spec.min}`);
      return n;
    }
  }
}

export interface ConfigInputs {
  /** Path of the TOML file, if any. */
  file?: string;
  /** Environment (process.env). */
  env?: Record<string, string | undefined>;
  /** Values from flags, keyed by TOML path. */
  flags?: Record<string, string | number | boolean>;
}

function readFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw bad(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw bad(`config file ${file} is not valid TOML: ${(err as Error).message}`);
  }
}

/** Flattens the file's scalar tables into `path → value`, rejecting keys that do not exist. */
function flattenFile(doc: Record<string, unknown>, file: string): Map<string, unknown> {
  const known = new Set(KEYS.map((k) => k.path));
  const sections = new Set(KEYS.filter((k) => k.path.includes('.')).map((k) => k.path.split('.')[0]));
  const out = new Map<string, unknown>();
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'models') continue;
    if (sections.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [sub, v] of Object.entries(value as Record<string, unknown>)) {
        const path = `${key}.${sub}`;
        if (!known.has(path)) throw bad(`unknown config key "${path}" in ${file}`);
        out.set(path, v);
      }
      continue;
    }
    if (!known.has(key)) throw bad(`unknown config key "${key}" in ${file}`);
    out.set(key, value);
  }
  return out;
}

function readModels(raw: unknown, file: string): ModelConfig[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw bad(`${file}: models must be an array of tables ([[models]])`);
  return raw.map((m, i) => {
    const where = `${file}: models[${i}]`;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw bad(`${where} must be a table`);
    const t = m as Record<string, unknown>;
    for (const k of Object.keys(t)) {
      if (!MODEL_KEYS.has(k)) throw bad(`unknown config key "models.${k}" in ${file} (models[${i}])`);
    }
    const str = (k: string): string | undefined => {
      if (t[k] === undefined) return undefined;
      if (typeof t[k] !== 'string' || t[k] === '') throw bad(`${where}.${k} must be a non-empty string`);
      return t[k] as string;
    };
    const list = (k: string): string[] => {
      if (t[k] === undefined) return [];
      if (!Array.isArray(t[k]) || !(t[k] as unknown[]).every((x) => typeof x === 'string' && x !== '')) {
        throw bad(`${where}.${k} must be an array of non-empty strings`);
      }
      return t[k] as string[];
    };
    const num = (k: string, min: number): number | undefined => {
      if (t[k] === undefined) return undefined;
      return convert(
        { path: `models.${k}`, type: 'number', default: undefined, doc: '', min },
        t[k],
        where,
      ) as number;
    };
    const name = str('name');
    if (!name) throw bad(`${where} needs a name`);
    const backends = list('backends');
    if (backends.length === 0) throw bad(`${where} (${name}) needs at least one backend URL`);
    for (const url of backends) checkBackendUrl(url, `${where}.backends`);
    const intKey = (k: string) => {
      const v = num(k, 1);
      if (v !== undefined && !Number.isInteger(v)) throw bad(`${where}.${k} must be an integer`);
      return v;
    };
    return {
      name,
      aliases: list('aliases'),
      tokenizer: str('tokenizer'),
      backends,
      coalesceMs: num('coalesce_ms', 0),
      maxBatchTokens: intKey('max_batch_tokens'),
      maxClientBatchSize: intKey('max_client_batch_size'),
    };
  });
}

const SCHEMES = ['http:', 'https:', 'grpc:', 'grpcs:'];

export function checkBackendUrl(url: string, where: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad(
      `${where}: ${JSON.stringify(url)} is not a URL (expected http://host:port or grpc://host:port)`,
    );
  }
  if (!SCHEMES.includes(u.protocol)) {
    throw bad(
      `${where}: ${JSON.stringify(url)} has scheme ${u.protocol} (expected one of http, https, grpc, grpcs)`,
    );
  }
  return u;
}

/** Builds the config from its sources; throws RouterError(ROUTER_ERR_CONFIG) naming the bad key and source. */
export function loadConfig(inputs: ConfigInputs = {}): RouterConfig {
  const env = inputs.env ?? {};
  const values = new Map<string, string | number | boolean | undefined>();
  for (const k of KEYS) values.set(k.path, k.default);
  const sources = ['defaults'];
  let models: ModelConfig[] = [];
  if (inputs.file) {
    const doc = readFile(inputs.file);
    for (const [path, raw] of flattenFile(doc, inputs.file)) {
      values.set(
        path,
        convert(
          KEYS.find((k) => k.path === path)!,
          raw,
          inputs.file,
        ),
      );
    }
    models = readModels(doc.models, inputs.file);
    sources.push(inputs.file);
  }
  const usedEnv: string[] = [];
  for (const k of KEYS) {
    const v = env[envName(k.path)];
    if (v !== undefined && v !== '') {
      values.set(k.path, convert(k, v, `environment ${envName(k.path)}`));
      usedEnv.push(envName(k.path));
    }
  }
  for (const name of Object.keys(env)) {
    if (name.startsWith('TEI_ROUTER_') && !isKnownEnv(name)) {
      throw bad(`unknown environment variable ${name} (see the README's configuration table)`);
    }
  }
  if (usedEnv.length > 0) sources.push(`env (${usedEnv.join(', ')})`);
  const flagKeys = Object.keys(inputs.flags ?? {});
  for (const [path, raw] of Object.entries(inputs.flags ?? {})) {
    const spec = KEYS.find((k) => k.path === path);
    if (!spec) throw bad(`unknown flag ${flagName(path)}`);
    values.set(path, convert(spec, raw, `flag ${flagName(path)}`));
  }
  if (flagKeys.length > 0) sources.push('flags');

  const get = <T>(path: string) => values.get(path) as T;
  const names = new Set<string>();
  for (const m of models) {
    for (const n of [m.name, ...m.aliases]) {
      if (names.has(n)) throw bad(`model name or alias "${n}" is used twice`);
      names.add(n);
    }
  }
  const defaultModel = get<string | undefined>('default_model');
  if (defaultModel !== undefined && models.length > 0 && !names.has(defaultModel)) {
    throw bad(`default_model "${defaultModel}" is not a configured model name or alias`);
  }
  return {
    grpc: { host: get('grpc.host'), port: get('grpc.port'), maxMessageBytes: get('grpc.max_message_bytes') },
    http: {
      host: get('http.host'),
      port: get('http.port'),
      jsonBodyLimit: get('http.json_body_limit'),
      arrowBodyLimit: get('http.arrow_body_limit'),
    },
    admin: { host: get('admin.host'), port: get('admin.port') },
    uws: { enabled: get('uws.enabled'), host: get('uws.host'), port: get('uws.port') },
    pool: { threads: get('pool.threads'), maxQueue: get('pool.max_queue') },
    batching: { coalesceMs: get('batching.coalesce_ms') },
    backend: { timeoutMs: get('backend.timeout_ms'), infoRefreshMs: get('backend.info_refresh_ms') },
    defaultModel: defaultModel ?? models[0]?.name,
    models,
    sources,
  };
}

/** Env vars the router reads besides the config keys (native addon switches; see README). */
const OTHER_ENV = new Set([
  'TEI_ROUTER_NATIVE',
  'TEI_ROUTER_NATIVE_PATH',
  'TEI_ROUTER_REQUIRE_NATIVE',
  'TEI_ROUTER_SKIP_NATIVE',
  'TEI_ROUTER_NATIVE_VERBOSE',
  'TEI_ROUTER_CONFIG',
]);

function isKnownEnv(name: string): boolean {
  return OTHER_ENV.has(name) || KEYS.some((k) => envName(k.path) === name);
}

/** The config as TOML-like lines for the startup log; nothing secret is held yet, so nothing is redacted. */
export function describeConfig(c: RouterConfig): string {
  const lines = [
    `http ${c.http.host}:${c.http.port}`,
    `pool ${c.pool.threads} threads, coalesce ${c.batching.coalesceMs} ms, sources: ${c.sources.join(' < ')}`,
  ];
  for (const m of c.models) lines.push(`model ${m.name}: ${m.backends.join(', ')}`);
  return lines.join('\n');
}
