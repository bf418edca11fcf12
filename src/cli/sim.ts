/** `tei-router sim`: flags (mirroring TEI's where TEI has them) → SimOptions → a running simulator. */
import { RouterError } from '../errors.js';
import type { FaultKind, FaultOptions, SimOptions } from '../sim/options.js';
import { simDefaults } from '../sim/options.js';
import type { ModelKind, Pooling, TeiVersion } from '../tei/types.js';
import type { CommandSpec, FlagValues } from './flags.js';

const d = simDefaults;

export const simCommand: CommandSpec = {
  name: 'sim',
  summary:
    'Run a simulated TEI server (one model, HTTP or gRPC) that is faithful on the wire: shapes, errors, limits, ' +
    'batching and timing headers. Outputs are deterministic fake vectors.',
  usage: 'tei-router sim [flags]',
  flags: [
    {
      name: 'model-id',
      type: 'string',
      default: d.modelId,
      help: 'Model id reported by /info and used to seed outputs',
    },
    { name: 'revision', type: 'string', help: 'Reported as /info model_sha' },
    {
      name: 'served-model-name',
      type: 'string',
      help: 'Name in OpenAI responses (TEI >= 1.9); default: model id',
    },
    {
      name: 'hostname',
      type: 'string',
      default: d.hostname,
      help: 'Address to listen on (TEI defaults to 0.0.0.0)',
    },
    {
      name: 'port',
      short: 'p',
      type: 'int',
      default: d.port,
      min: 0,
      max: 65535,
      help: 'Port (0 = any free port)',
    },
    {
      name: 'protocol',
      type: 'string',
      choices: ['http', 'grpc'],
      default: d.protocol,
      help: 'Which TEI build to imitate',
    },
    {
      name: 'tei-version',
      type: 'string',
      choices: ['1.8', '1.9'],
      default: d.teiVersion,
      help: 'TEI behaviour generation',
    },
    {
      name: 'model-type',
      type: 'string',
      choices: ['embedding', 'classifier', 'reranker'],
      default: d.modelType,
      help: 'Kind of model served',
    },
    {
      name: 'pooling',
      type: 'string',
      choices: ['cls', 'mean', 'splade', 'last-token'],
      default: d.pooling,
      help: 'Pooling of an embedding model (splade serves /embed_sparse)',
    },
    { name: 'dim', type: 'int', default: d.dim, min: 1, max: 65536, help: 'Embedding dimension' },
    {
      name: 'labels',
      type: 'list',
      default: [],
      help: 'Classifier labels, comma-separated (default: negative,positive; reranker: LABEL_0)',
    },
    {
      name: 'tokenizer',
      type: 'string',
      help: 'Path to a HuggingFace tokenizer.json (WordPiece); unset: a word-piece estimate',
    },
    {
      name: 'max-input-length',
      type: 'int',
      default: d.maxInputLength,
      min: 1,
      help: 'Longest input in tokens',
    },
    {
      name: 'max-batch-tokens',
      type: 'int',
      default: d.maxBatchTokens,
      min: 1,
      help: 'Token budget of one forward batch',
    },
    { name: 'max-batch-requests', type: 'int', min: 1, help: 'Most inputs in one forward batch' },
    {
      name: 'max-client-batch-size',
      type: 'int',
      default: d.maxClientBatchSize,
      min: 1,
      help: 'Most inputs in one request',
    },
    {
      name: 'max-concurrent-requests',
      type: 'int',
      default: d.maxConcurrentRequests,
      min: 1,
      help: 'Permits: inputs in flight before 429',
    },
    {
      name: 'auto-truncate',
      type: 'bool',
      help: 'Default for `truncate` (default: true on 1.9, false on 1.8)',
    },
    { name: 'api-key', type: 'string', help: 'Require `Authorization: Bearer <key>`' },
    {
      name: 'payload-limit',
      type: 'int',
      default: d.payloadLimit,
      min: 1,
      help: 'Largest HTTP body in bytes',
    },
    { name: 'prompts', type: 'list', default: [], help: 'Prompts as name=text pairs, comma-separated' },
    { name: 'default-prompt-name', type: 'string', help: 'Prompt applied when a request names none' },
    { name: 'default-prompt', type: 'string', help: 'Prompt text applied when a request names none' },
    { name: 'dtype', type: 'string', default: d.dtype, help: 'Reported as /info model_dtype' },
    {
      name: 'batch-base-ms',
      type: 'number',
      default: d.latency.batchBaseMs,
      min: 0,
      help: 'Latency model: fixed cost of a forward batch',
    },
    {
      name: 'per-token-us',
      type: 'number',
      default: d.latency.perTokenUs,
      min: 0,
      help: 'Latency model: cost per batch token',
    },
    {
      name: 'padded',
      type: 'bool',
      default: d.latency.padded,
      help: 'Padded batches: count and pay for longest × size tokens',
    },
    {
      name: 'fault-rate',
      type: 'number',
      default: d.faults.rate,
      min: 0,
      max: 1,
      help: 'Fraction of requests that fail',
    },
    {
      name: 'fault-kind',
      type: 'string',
      choices: ['error', 'hang', 'reset'],
      default: d.faults.kind,
      help: 'How an injected fault fails',
    },
    {
      name: 'fault-error-type',
      type: 'string',
      choices: ['Backend', 'Overloaded', 'Unhealthy', 'Validation', 'Tokenizer'],
      default: d.faults.errorType,
      help: 'TEI error type of injected errors',
    },
    { name: 'fault-seed', type: 'int', default: d.faults.seed, help: 'Seed of the fault draw' },
    {
      name: 'loading-ms',
      type: 'int',
      default: d.loadingMs,
      min: 0,
      help: 'Refuse connections this long after start (model loading)',
    },
  ],
};

export function simOptionsFromFlags(v: FlagValues): Partial<SimOptions> {
  const prompts: Record<string, string> = {};
  for (const pair of (v.prompts as string[]) ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new RouterError(
        'ROUTER_ERR_CLI_BAD_VALUE',
        `--prompts ${JSON.stringify(pair)}: expected name=text`,
      );
    }
    prompts[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const pooling = (v.pooling === 'last-token' ? 'last_token' : v.pooling) as Pooling;
  const faults: FaultOptions = {
    rate: v.faultRate as number,
    kind: v.faultKind as FaultKind,
    errorType: v.faultErrorType as FaultOptions['errorType'],
    seed: v.faultSeed as number,
  };
  return {
    modelId: v.modelId as string,
    revision: v.revision as string | undefined,
    servedModelName: v.servedModelName as string | undefined,
    hostname: v.hostname as string,
    port: v.port as number,
    protocol: v.protocol as 'http' | 'grpc',
    teiVersion: v.teiVersion as TeiVersion,
    modelType: v.modelType as ModelKind,
    pooling,
    dim: v.dim as number,
    labels: (v.labels as string[]) ?? [],
    tokenizer: v.tokenizer as string | undefined,
    maxInputLength: v.maxInputLength as number,
    maxBatchTokens: v.maxBatchTokens as number,
    maxBatchRequests: v.maxBatchRequests as number | undefined,
    maxClientBatchSize: v.maxClientBatchSize as number,
    maxConcurrentRequests: v.maxConcurrentRequests as number,
    autoTruncate: v.autoTruncate as boolean | undefined,
    apiKey: v.apiKey as string | undefined,
    payloadLimit: v.payloadLimit as number,
    prompts,
    defaultPromptName: v.defaultPromptName as string | undefined,
    defaultPrompt: v.defaultPrompt as string | undefined,
    dtype: v.dtype as string,
    latency: {
      batchBaseMs: v.batchBaseMs as number,
      perTokenUs: v.perTokenUs as number,
      padded: v.padded as boolean,
    },
    faults,
    loadingMs: v.loadingMs as number,
  };
}
