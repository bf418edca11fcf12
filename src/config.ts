/**
 * The router's one typed configuration. Sources, highest precedence first: command-line flags, environment
 * variables (`TEI_ROUTER_*`), a TOML file (`--config`), then the defaults below. Every scalar key is declared once
 * in `KEYS` (TOML path, type, default, env name, flag name, meaning); the README's table is checked against it.
 * Unknown keys are an error naming the key and the file.
 */
import { readFileSync } from 'node:fs';
import { validateHeaderName } from 'node:http';
import { parse as parseToml } from 'smol-toml';
import { RouterError } from './errors.js';
import { parseSanEntry, parseSubject } from './tls/identity.js';
import { BALANCING_POLICIES } from './backend/policies.js';
import { isDnsSpec, parseDnsSpec, replicaUrl } from './backend/discovery.js';
import type { BalancingPolicy } from './backend/policies.js';

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
  /** Override of admission.max_queued_tokens. */
  maxQueuedTokens: number | undefined;
  /** Override of balancing.policy. */
  balancing: BalancingPolicy | undefined;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How a TLS listener treats client certificates. */
export type ClientAuth = 'none' | 'optional' | 'require';

/** The TLS policy of one listener, resolved from `[tls]` and the listener's own `[<listener>.tls]`. */
export interface TlsPolicyConfig {
  certPath: string;
  keyPath: string;
  /** CA bundle client certificates must chain to. */
  caPath: string | undefined;
  crlPath: string | undefined;
  clientAuth: ClientAuth;
  allowedSubjects: string[];
  allowedSans: string[];
  requireSanMatchesSni: boolean;
}

/** A server certificate presented to clients that dial `serverName` (SNI). */
export interface SniEntry {
  serverName: string;
  certPath: string;
  keyPath: string;
}

/** `[[authz]]`: a named client (matched by subject or SAN) and the models it may call. */
export interface AuthzEntry {
  name: string;
  subjects: string[];
  sans: string[];
  /** Model names or aliases; empty: every model. */
  models: string[];
}

export type TlsListener = 'grpc' | 'http' | 'admin';

export interface TlsConfig {
  /** Per listener; absent: that listener is plaintext. */
  listeners: Partial<Record<TlsListener, TlsPolicyConfig>>;
  sni: SniEntry[];
  reloadIntervalMs: number;
  expiryWarningDays: number;
}

export interface BackendTlsConfig {
  caPath: string | undefined;
  certPath: string | undefined;
  keyPath: string | undefined;
}

export interface RouterConfig {
  grpc: ListenerConfig & { maxMessageBytes: number };
  http: ListenerConfig & { jsonBodyLimit: number; arrowBodyLimit: number };
  admin: ListenerConfig;
  uws: ListenerConfig & { enabled: boolean };
  pool: { threads: number; tasksPerThread: number; maxQueue: number };
  batching: { coalesceMs: number };
  backend: {
    timeoutMs: number;
    infoRefreshMs: number;
    tls: BackendTlsConfig;
    /** Header carrying the client identity to backends on forwarded calls; undefined: not sent. */
    identityHeader: string | undefined;
  };
  tls: TlsConfig;
  authz: AuthzEntry[];
  log: { access: boolean; level: LogLevel; format: 'json' | 'text' };
  shutdown: { drainTimeoutMs: number };
  admission: { maxQueuedTokens: number };
  request: { timeoutMs: number };
  health: {
    intervalMs: number;
    timeoutMs: number;
    unhealthyThreshold: number;
    healthyThreshold: number;
    slowStartMs: number;
  };
  discovery: { intervalMs: number; dnsServers: string[] };
  hedging: { enabled: boolean };
  balancing: { policy: BalancingPolicy };
  defaultModel: string | undefined;
  models: ModelConfig[];
  /** Where the values came from, for the startup banner. */
  sources: string[];
}

type KeyType = 'string' | 'port' | 'int' | 'number' | 'bool' | 'list' | 'enum';

export interface KeySpec {
  /** TOML path, e.g. `http.port`. */
  path: string;
  type: KeyType;
  default: string | number | boolean | undefined;
  doc: string;
  min?: number;
  /** `enum` keys: the accepted values. */
  choices?: readonly string[];
}

/** Separator of list values given in one environment variable or flag (subjects contain commas). */
export const LIST_SEPARATOR = ';';

/** The TLS policy keys, declared once and repeated under `tls.` and each listener's `<listener>.tls.`. */
function tlsKeys(scope: string, what: string): KeySpec[] {
  const k = (name: string, type: KeyType, doc: string, extra: Partial<KeySpec> = {}): KeySpec => ({
    path: `${scope}.${name}`,
    type,
    default: undefined,
    doc: `${doc} (${what})`,
    ...extra,
  });
  return [
    k('cert_path', 'string', 'Server certificate chain, PEM; setting it turns TLS on'),
    k('key_path', 'string', 'Private key of cert_path, PEM'),
    k('ca_path', 'string', 'CA bundle client certificates must chain to, PEM'),
    k(
      'client_auth',
      'enum',
      'Client certificates: none, optional or require (default: require when ca_path is set)',
      {
        choices: ['none', 'optional', 'require'],
      },
    ),
    k('require_client_cert', 'bool', "tei-manager's form: true = client_auth require, false = optional"),
    k('crl_path', 'string', 'Certificate revocation list(s), PEM; revoked client certificates are refused'),
    k(
      'allowed_subjects',
      'list',
      'Client subjects let in, exact match, e.g. "CN=a,O=B" (empty: any verified client)',
    ),
    k('allowed_sans', 'list', 'Client SANs let in: DNS:, IP:, URI:, email: (empty: any verified client)'),
    k(
      'require_san_matches_sni',
      'bool',
      'Refuse clients whose certificate SANs do not include the SNI name they dialled',
    ),
  ];
}

const TLS_SCOPES: ReadonlyArray<[string, string]> = [
  ['tls', 'every TLS listener'],
  ['grpc.tls', 'gRPC listener, over tls'],
  ['http.tls', 'HTTP listener, over tls'],
  ['admin.tls', 'admin listener; TLS there only when set'],
];

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
    path: 'pool.tasks_per_thread',
    type: 'int',
    default: 64,
    min: 1,
    doc: 'Tasks one worker thread runs at once (a task waits on its backends most of its time)',
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
  {
    path: 'request.timeout_ms',
    type: 'int',
    default: 60_000,
    min: 1,
    doc: 'Deadline of a request whose client sets none (a gRPC deadline or an HTTP x-request-timeout header sets one); retries and failover stay within it',
  },
  {
    path: 'health.interval_ms',
    type: 'int',
    default: 5000,
    min: 100,
    doc: 'Between active checks of a usable backend (TEI /health, grpc.health.v1 for gRPC backends)',
  },
  {
    path: 'health.timeout_ms',
    type: 'int',
    default: 2000,
    min: 1,
    doc: 'Deadline of one health check or probe',
  },
  {
    path: 'health.unhealthy_threshold',
    type: 'int',
    default: 2,
    min: 1,
    doc: 'Failed active checks in a row that take a backend out (down)',
  },
  {
    path: 'health.healthy_threshold',
    type: 'int',
    default: 1,
    min: 1,
    doc: 'Successful /info probes in a row that bring a starting, down or ejected backend back (up)',
  },
  {
    path: 'health.slow_start_ms',
    type: 'int',
    default: 10_000,
    min: 0,
    doc: 'A backend back up (or added at runtime) ramps its p2c_tokens weight from 10% to 100% over this long (0: off)',
  },
  {
    path: 'discovery.interval_ms',
    type: 'int',
    default: 5000,
    min: 100,
    doc: 'How often the DNS names of dns+ backends are resolved again',
  },
  {
    path: 'discovery.dns_servers',
    type: 'list',
    default: undefined,
    doc: 'DNS servers for dns+ backends, host:port (empty: the system resolver)',
  },
  {
    path: 'hedging.enabled',
    type: 'bool',
    default: false,
    doc: "Send a second copy of a backend batch to another replica when the first is slower than its replica's p95; the first answer wins",
  },
  {
    path: 'balancing.policy',
    type: 'enum',
    default: 'p2c_tokens',
    choices: BALANCING_POLICIES,
    doc: 'Replica choice: p2c_tokens (power of two choices on outstanding tokens / throughput), least_requests, round_robin',
  },
  {
    path: 'admission.max_queued_tokens',
    type: 'int',
    default: 1_048_576,
    min: 1,
    doc: 'Estimated tokens a model may have accepted and unanswered; beyond it requests get 429 / RESOURCE_EXHAUSTED',
  },
  {
    path: 'shutdown.drain_timeout_ms',
    type: 'int',
    default: 30_000,
    min: 0,
    doc: 'On SIGTERM/SIGINT: how long in-flight requests may take to finish before connections are closed',
  },
  {
    path: 'log.level',
    type: 'enum',
    default: 'info',
    choices: LOG_LEVELS,
    doc: 'Lowest level logged: trace, debug, info, warn, error, fatal, silent',
  },
  {
    path: 'log.format',
    type: 'enum',
    default: 'json',
    choices: ['json', 'text'],
    doc: 'json: one JSON object per line (pino); text: one readable line per event',
  },
  {
    path: 'log.access',
    type: 'bool',
    default: false,
    doc: 'Write one JSON access-log line per request (route, status, duration, client identity, tenant)',
  },
  ...TLS_SCOPES.flatMap(([scope, what]) => tlsKeys(scope, what)),
  {
    path: 'tls.reload_interval_ms',
    type: 'int',
    default: 1000,
    min: 100,
    doc: 'How often certificate, key, CA and CRL files are checked for changes',
  },
  {
    path: 'tls.expiry_warning_days',
    type: 'int',
    default: 30,
    min: 0,
    doc: 'Log a warning when a loaded certificate expires within this many days',
  },
  {
    path: 'backend.tls.ca_path',
    type: 'string',
    default: undefined,
    doc: 'CA bundle https:// and grpcs:// backends are verified against (default: the system CAs)',
  },
  {
    path: 'backend.tls.cert_path',
    type: 'string',
    default: undefined,
    doc: 'Client certificate the router presents to https:// and grpcs:// backends, PEM',
  },
  {
    path: 'backend.tls.key_path',
    type: 'string',
    default: undefined,
    doc: 'Private key of backend.tls.cert_path',
  },
  {
    path: 'backend.identity_header',
    type: 'string',
    default: undefined,
    doc: 'Header that carries the client identity to backends on forwarded (non-batched) calls (an HTTP header name; not one the router sets itself, such as authorization, traceparent, te or grpc-*)',
  },
];

/** tei-manager's documented variables, accepted as aliases of tei-router's own names. */
export const ENV_ALIASES: Readonly<Record<string, string>> = {
  TEI_MANAGER_GRPC_TLS_CERT: 'grpc.tls.cert_path',
  TEI_MANAGER_GRPC_TLS_KEY: 'grpc.tls.key_path',
  TEI_MANAGER_GRPC_TLS_CA: 'grpc.tls.ca_path',
  TEI_MANAGER_GRPC_TLS_REQUIRE_CLIENT_CERT: 'grpc.tls.require_client_cert',
};

const MODEL_KEYS = new Set([
  'name',
  'aliases',
  'tokenizer',
  'backends',
  'coalesce_ms',
  'max_queued_tokens',
  'balancing',
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

/** Headers a backend call sets itself, or that HTTP/2 forbids on a request: not usable as a custom header. */
const RESERVED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'host',
  'content-type',
  'content-length',
  'authorization',
  'traceparent',
]);

/** A custom header's name must be an HTTP token (RFC 9110, node's own check), and not one the router or HTTP/2 owns. */
function checkHeaderName(key: string, name: string): void {
  try {
    validateHeaderName(name);
  } catch {
    throw bad(`${key}: "${name}" is not an HTTP header name (letters, digits and !#$%&'*+.^_\`|~- only)`);
  }
  const lower = name.toLowerCase();
  if (RESERVED_HEADERS.has(lower) || lower.startsWith('grpc-')) {
    throw bad(`${key}: "${name}" is a header the router sets itself or HTTP/2 forbids; choose another name`);
  }
}

export type KeyValue = string | number | boolean | string[];

function convert(spec: KeySpec, raw: unknown, where: string): KeyValue {
  const fail = (why: string) => bad(`${where}: ${spec.path} = ${JSON.stringify(raw)}: ${why}`);
  const fromText = typeof raw === 'string' && spec.type !== 'string';
  switch (spec.type) {
    case 'string':
      if (typeof raw !== 'string') throw fail('expected a string');
      return raw;
    case 'enum':
      if (typeof raw !== 'string' || !spec.choices!.includes(raw)) {
        throw fail(`expected one of ${spec.choices!.join(', ')}`);
      }
      return raw;
    case 'list': {
      if (typeof raw === 'string') {
        return raw
          .split(LIST_SEPARATOR)
          .map((x) => x.trim())
          .filter((x) => x !== '');
      }
      if (!Array.isArray(raw) || !raw.every((x) => typeof x === 'string')) {
        throw fail('expected an array of strings');
      }
      return raw as string[];
    }
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
  flags?: Record<string, KeyValue>;
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

/** Arrays of tables read on their own, by TOML path. */
const TABLE_ARRAYS = new Set(['models', 'tls.sni', 'authz']);

/** Flattens the file's tables into `path → value`, rejecting keys that do not exist. */
function flattenFile(doc: Record<string, unknown>, file: string): Map<string, unknown> {
  const known = new Set(KEYS.map((k) => k.path));
  const prefixes = new Set(
    KEYS.flatMap((k) =>
      k.path
        .split('.')
        .slice(0, -1)
        .map((_, i, a) => a.slice(0, i + 1).join('.')),
    ),
  );
  const out = new Map<string, unknown>();
  const walk = (table: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(table)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (TABLE_ARRAYS.has(path)) continue;
      if (path === 'uws.tls') {
        throw bad(
          `${file}: [uws.tls] is not supported: the uWebSockets.js listener serves plaintext only (it can neither ` +
            'require nor read client certificates); use the HTTP listener for TLS',
        );
      }
      if (prefixes.has(path) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        walk(value as Record<string, unknown>, path);
        continue;
      }
      if (!known.has(path)) throw bad(`unknown config key "${path}" in ${file}`);
      out.set(path, value);
    }
  };
  walk(doc, '');
  return out;
}

/** A `[[name]]` array of tables: each entry checked for unknown keys, then read by `read`. */
function tableArray<T>(
  raw: unknown,
  name: string,
  file: string,
  keys: readonly string[],
  read: (field: FieldReader, where: string) => T,
): T[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw bad(`${file}: ${name} must be an array of tables ([[${name}]])`);
  return raw.map((m, i) => {
    const where = `${file}: ${name}[${i}]`;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw bad(`${where} must be a table`);
    const t = m as Record<string, unknown>;
    for (const k of Object.keys(t)) {
      if (!keys.includes(k)) throw bad(`unknown config key "${name}.${k}" in ${file} (${name}[${i}])`);
    }
    return read(fieldReader(t, where), where);
  });
}

interface FieldReader {
  str(k: string): string | undefined;
  list(k: string): string[];
  /** The raw value, for fields with their own checks. */
  value(k: string): unknown;
}

function fieldReader(t: Record<string, unknown>, where: string): FieldReader {
  return {
    value: (k) => t[k],
    str: (k) => {
      if (t[k] === undefined) return undefined;
      if (typeof t[k] !== 'string' || t[k] === '') throw bad(`${where}.${k} must be a non-empty string`);
      return t[k] as string;
    },
    list: (k) => {
      if (t[k] === undefined) return [];
      if (!Array.isArray(t[k]) || !(t[k] as unknown[]).every((x) => typeof x === 'string' && x !== '')) {
        throw bad(`${where}.${k} must be an array of non-empty strings`);
      }
      return t[k] as string[];
    },
  };
}

function readSni(raw: unknown, file: string): SniEntry[] {
  return tableArray(raw, 'tls.sni', file, ['server_name', 'cert_path', 'key_path'], (f, where) => {
    const serverName = f.str('server_name');
    const certPath = f.str('cert_path');
    const keyPath = f.str('key_path');
    if (!serverName || !certPath || !keyPath) {
      throw bad(`${where} needs server_name, cert_path and key_path`);
    }
    return { serverName: serverName.toLowerCase(), certPath, keyPath };
  });
}

function readAuthz(raw: unknown, file: string): AuthzEntry[] {
  return tableArray(raw, 'authz', file, ['name', 'subjects', 'sans', 'models'], (f, where) => {
    const name = f.str('name');
    if (!name) throw bad(`${where} needs a name (the client's label in logs and metrics)`);
    const entry = { name, subjects: f.list('subjects'), sans: f.list('sans'), models: f.list('models') };
    if (entry.subjects.length === 0 && entry.sans.length === 0) {
      throw bad(`${where} (${name}) needs subjects or sans to recognise the client by`);
    }
    checkIdentityLists(entry.subjects, entry.sans, where);
    return entry;
  });
}

/** Subjects and SAN entries must parse, so a typo stops startup instead of silently matching nobody. */
function checkIdentityLists(subjects: string[], sans: string[], where: string): void {
  for (const s of subjects) {
    try {
      parseSubject(s);
    } catch (err) {
      throw bad(`${where}: subject ${JSON.stringify(s)}: ${(err as Error).message}`);
    }
  }
  for (const s of sans) {
    try {
      parseSanEntry(s);
    } catch (err) {
      throw bad(`${where}: SAN ${JSON.stringify(s)}: ${(err as Error).message}`);
    }
  }
}

function readModels(raw: unknown, file: string): ModelConfig[] {
  return tableArray(raw, 'models', file, [...MODEL_KEYS], (f, where) => {
    const num = (k: string, min: number): number | undefined => {
      const v = f.value(k);
      if (v === undefined) return undefined;
      return convert(
        { path: `models.${k}`, type: 'number', default: undefined, doc: '', min },
        v,
        where,
      ) as number;
    };
    const intKey = (k: string) => {
      const v = num(k, 1);
      if (v !== undefined && !Number.isInteger(v)) throw bad(`${where}.${k} must be an integer`);
      return v;
    };
    const name = f.str('name');
    if (!name) throw bad(`${where} needs a name`);
    const backends = f.list('backends');
    if (backends.length === 0) throw bad(`${where} (${name}) needs at least one backend URL`);
    for (const url of backends) checkBackendUrl(url, `${where}.backends`);
    return {
      name,
      aliases: f.list('aliases'),
      tokenizer: f.str('tokenizer'),
      backends,
      coalesceMs: num('coalesce_ms', 0),
      maxBatchTokens: intKey('max_batch_tokens'),
      maxClientBatchSize: intKey('max_client_batch_size'),
      maxQueuedTokens: intKey('max_queued_tokens'),
      balancing: policyOfModel(f.value('balancing'), where),
    };
  });
}

function policyOfModel(raw: unknown, where: string): BalancingPolicy | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !(BALANCING_POLICIES as readonly string[]).includes(raw)) {
    throw bad(
      `${where}.balancing = ${JSON.stringify(raw)}: expected one of ${BALANCING_POLICIES.join(', ')}`,
    );
  }
  return raw as BalancingPolicy;
}

const SCHEMES = ['http:', 'https:', 'grpc:', 'grpcs:'];

export function checkBackendUrl(url: string, where: string): URL {
  if (isDnsSpec(url)) {
    let source;
    try {
      source = parseDnsSpec(url);
    } catch (err) {
      throw bad(`${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return checkBackendUrl(replicaUrl(source, '127.0.0.1'), where);
  }
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
  const values = new Map<string, KeyValue | undefined>();
  for (const k of KEYS) values.set(k.path, k.default);
  const sources = ['defaults'];
  let models: ModelConfig[] = [];
  let sni: SniEntry[] = [];
  let authz: AuthzEntry[] = [];
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
    const tlsTable = doc.tls as Record<string, unknown> | undefined;
    sni = readSni(tlsTable?.sni, inputs.file);
    authz = readAuthz(doc.authz, inputs.file);
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
  for (const [alias, path] of Object.entries(ENV_ALIASES)) {
    const v = env[alias];
    const own = envName(path);
    if (v === undefined || v === '') continue;
    if (env[own] !== undefined && env[own] !== '' && env[own] !== v) {
      throw bad(`environment ${alias} and ${own} are both set, to different values: keep one`);
    }
    values.set(
      path,
      convert(
        KEYS.find((k) => k.path === path)!,
        v,
        `environment ${alias}`,
      ),
    );
    usedEnv.push(alias);
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
  const backendTls: BackendTlsConfig = {
    caPath: get('backend.tls.ca_path'),
    certPath: get('backend.tls.cert_path'),
    keyPath: get('backend.tls.key_path'),
  };
  if ((backendTls.certPath === undefined) !== (backendTls.keyPath === undefined)) {
    throw bad('backend.tls.cert_path and backend.tls.key_path must be set together');
  }
  const identityHeader = get<string | undefined>('backend.identity_header');
  if (identityHeader !== undefined) checkHeaderName('backend.identity_header', identityHeader);
  for (const a of authz) {
    for (const m of a.models) {
      if (models.length > 0 && !names.has(m)) throw bad(`authz "${a.name}": model "${m}" is not configured`);
    }
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
    pool: {
      threads: get('pool.threads'),
      tasksPerThread: get('pool.tasks_per_thread'),
      maxQueue: get('pool.max_queue'),
    },
    batching: { coalesceMs: get('batching.coalesce_ms') },
    backend: {
      timeoutMs: get('backend.timeout_ms'),
      infoRefreshMs: get('backend.info_refresh_ms'),
      tls: backendTls,
      identityHeader,
    },
    tls: {
      listeners: resolveTls(values),
      sni,
      reloadIntervalMs: get('tls.reload_interval_ms'),
      expiryWarningDays: get('tls.expiry_warning_days'),
    },
    authz,
    log: { access: get('log.access'), level: get('log.level'), format: get('log.format') },
    shutdown: { drainTimeoutMs: get('shutdown.drain_timeout_ms') },
    admission: { maxQueuedTokens: get('admission.max_queued_tokens') },
    request: { timeoutMs: get('request.timeout_ms') },
    health: {
      intervalMs: get('health.interval_ms'),
      timeoutMs: get('health.timeout_ms'),
      unhealthyThreshold: get('health.unhealthy_threshold'),
      healthyThreshold: get('health.healthy_threshold'),
      slowStartMs: get('health.slow_start_ms'),
    },
    discovery: {
      intervalMs: get('discovery.interval_ms'),
      dnsServers: get<string[] | undefined>('discovery.dns_servers') ?? [],
    },
    hedging: { enabled: get('hedging.enabled') },
    balancing: { policy: get('balancing.policy') },
    defaultModel: defaultModel ?? models[0]?.name,
    models,
    sources,
  };
}

const POLICY_FIELDS = [
  'cert_path',
  'key_path',
  'ca_path',
  'client_auth',
  'require_client_cert',
  'crl_path',
  'allowed_subjects',
  'allowed_sans',
  'require_san_matches_sni',
] as const;

/**
 * Each listener's TLS policy. The shared policy is `[tls]`; when no `tls.*` key is set, the tei-manager guide's
 * `[grpc.tls]` is the shared policy instead, so following the guide locks down the HTTP listener as well. A
 * listener's own `[<listener>.tls]` keys override the shared ones. gRPC and HTTP use TLS when the merged policy
 * has a cert_path; admin only when `[admin.tls]` has keys of its own.
 */
function resolveTls(
  values: Map<string, KeyValue | undefined>,
): Partial<Record<TlsListener, TlsPolicyConfig>> {
  const scope = (prefix: string) => {
    const o: Partial<Record<(typeof POLICY_FIELDS)[number], KeyValue>> = {};
    for (const f of POLICY_FIELDS) {
      const v = values.get(`${prefix}.${f}`);
      if (v !== undefined) o[f] = v;
    }
    return o;
  };
  const own = { grpc: scope('grpc.tls'), http: scope('http.tls'), admin: scope('admin.tls') };
  const sharedOwn = scope('tls');
  const shared = Object.keys(sharedOwn).length > 0 ? sharedOwn : own.grpc;
  const out: Partial<Record<TlsListener, TlsPolicyConfig>> = {};
  for (const listener of ['grpc', 'http', 'admin'] as const) {
    if (listener === 'admin' && Object.keys(own.admin).length === 0) continue;
    const merged = { ...shared, ...own[listener] };
    const where =
      Object.keys(own[listener]).length > 0 ? `${listener}.tls` : shared === own.grpc ? 'grpc.tls' : 'tls';
    if (Object.keys(merged).length === 0) continue;
    if (merged.cert_path === undefined || merged.key_path === undefined) {
      throw bad(
        `${where}: cert_path and key_path are both needed to serve TLS on the ${listener} listener` +
          ` (remove the TLS section to serve plaintext)`,
      );
    }
    out[listener] = policyOf(merged as Record<string, KeyValue>, where);
  }
  return out;
}

function policyOf(m: Record<string, KeyValue>, where: string): TlsPolicyConfig {
  const fromGuide =
    m.require_client_cert === undefined ? undefined : m.require_client_cert === true ? 'require' : 'optional';
  const explicit = m.client_auth as ClientAuth | undefined;
  if (explicit !== undefined && fromGuide !== undefined && explicit !== fromGuide) {
    throw bad(
      `${where}: client_auth = "${explicit}" contradicts require_client_cert = ${String(m.require_client_cert)}; keep one`,
    );
  }
  const caPath = m.ca_path as string | undefined;
  const clientAuth: ClientAuth = explicit ?? fromGuide ?? (caPath !== undefined ? 'require' : 'none');
  const allowedSubjects = (m.allowed_subjects as string[] | undefined) ?? [];
  const allowedSans = (m.allowed_sans as string[] | undefined) ?? [];
  const requireSanMatchesSni = m.require_san_matches_sni === true;
  if (clientAuth !== 'none' && caPath === undefined) {
    throw bad(
      `${where}: client_auth = "${clientAuth}" needs ca_path, the CA bundle client certificates chain to`,
    );
  }
  if (
    clientAuth === 'none' &&
    (allowedSubjects.length > 0 || allowedSans.length > 0 || requireSanMatchesSni)
  ) {
    throw bad(
      `${where}: allowed_subjects, allowed_sans and require_san_matches_sni need client certificates ` +
        '(client_auth = "optional" or "require", with ca_path)',
    );
  }
  checkIdentityLists(allowedSubjects, allowedSans, where);
  return {
    certPath: m.cert_path as string,
    keyPath: m.key_path as string,
    caPath,
    crlPath: m.crl_path as string | undefined,
    clientAuth,
    allowedSubjects,
    allowedSans,
    requireSanMatchesSni,
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
