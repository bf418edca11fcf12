/**
 * TEI's HTTP JSON request bodies (router/src/http/types.rs), decoded with the same acceptance rules and the same
 * rejection texts as TEI, and TEI's JSON response bodies. Pure: no I/O, no model knowledge.
 */
import { OUTPUT_DTYPES, isOutputDtype } from './output-dtype.js';
import type { OutputDtype } from './output-dtype.js';
import type { InputItem, TeiVersion, TruncationDirection } from '../tei/types.js';
import {
  FieldError,
  StructReader,
  describe,
  invalidType,
  isU32,
  parseJson,
  readBool,
  readString,
  readU32,
} from './serde-json.js';

/** TEI `Input`: a single item, or a batch. `[]` and `[1,2]` are single id lists (serde tries the single form first). */
export interface DecodedInput {
  batch: boolean;
  items: InputItem[];
}

export interface EmbedBody {
  input: DecodedInput;
  truncate: boolean | null;
  truncationDirection: TruncationDirection;
  promptName: string | null;
  normalize: boolean;
  dimensions: number | null;
}

export interface EmbedAllBody {
  input: DecodedInput;
  truncate: boolean | null;
  truncationDirection: TruncationDirection;
  promptName: string | null;
}

export interface PredictBody {
  batch: boolean;
  items: Array<[string] | [string, string]>;
  truncate: boolean | null;
  truncationDirection: TruncationDirection;
  rawScores: boolean;
}

export interface RerankBody {
  query: string;
  texts: string[];
  truncate: boolean | null;
  truncationDirection: TruncationDirection;
  rawScores: boolean;
  returnText: boolean;
}

export interface SimilarityBody {
  source: string;
  sentences: string[];
  truncate: boolean | null;
  truncationDirection: TruncationDirection;
  promptName: string | null;
}

export interface TokenizeBody {
  batch: boolean;
  inputs: string[];
  addSpecialTokens: boolean;
  promptName: string | null;
}

export interface DecodeBody {
  batch: boolean;
  ids: number[][];
  skipSpecialTokens: boolean;
}

export interface OpenAiEmbedBody {
  input: DecodedInput;
  model: string | null;
  encodingFormat: 'float' | 'base64';
  dimensions: number | null;
  /** tei-router's extension: the element type of each embedding (default float: f32). */
  outputDtype: OutputDtype;
}

function untagged(name: string): FieldError {
  return new FieldError('', `data did not match any variant of untagged enum ${name}`);
}

function isIdList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every(isU32);
}

function readInput(value: unknown): DecodedInput {
  if (typeof value === 'string') return { batch: false, items: [value] };
  if (isIdList(value)) return { batch: false, items: [value] };
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || isIdList(v))) {
    return { batch: true, items: value as InputItem[] };
  }
  throw untagged('Input');
}

function directionReader(version: TeiVersion) {
  return (value: unknown, raw?: string): TruncationDirection => {
    if (typeof value !== 'string') {
      throw new FieldError('', `invalid type: ${describe(value, raw)}, expected enum TruncationDirection`);
    }
    if (value === 'Right' || value === 'Left') return value;
    if (version !== '1.8' && (value === 'right' || value === 'left'))
      return value === 'right' ? 'Right' : 'Left';
    throw new FieldError('', `unknown variant \`${value}\`, expected \`Left\` or \`Right\``);
  };
}

function readTruncate(r: StructReader): boolean | null {
  return r.optional('truncate', readBool, null);
}

function readPromptName(r: StructReader): string | null {
  return r.optional('prompt_name', readString, null);
}

export function decodeEmbed(text: string, version: TeiVersion): EmbedBody {
  const r = new StructReader(parseJson(text), 'EmbedRequest');
  return {
    input: r.required('inputs', readInput),
    truncate: readTruncate(r),
    truncationDirection: r.defaulted('truncation_direction', directionReader(version), 'Right'),
    promptName: readPromptName(r),
    normalize: r.defaulted('normalize', readBool, true),
    dimensions: r.optional('dimensions', readU32, null),
  };
}

export function decodeEmbedAll(
  text: string,
  version: TeiVersion,
  typeName = 'EmbedAllRequest',
): EmbedAllBody {
  const r = new StructReader(parseJson(text), typeName);
  return {
    input: r.required('inputs', readInput),
    truncate: readTruncate(r),
    truncationDirection: r.defaulted('truncation_direction', directionReader(version), 'Right'),
    promptName: readPromptName(r),
  };
}

const PREDICT_EXPECTING =
  'a string, a pair of strings [string, string] or a batch of mixed strings and pairs [[string], [string, string], ...]';

/**
 * TEI's PredictInput visitor: `"s"` or `["s"]` → one input; `["a", "b"]` → one pair; `[["s"], ["a", "b"], ...]` →
 * batch. Wrong lengths and types are serde errors (422 plain text).
 */
function readPredictInput(value: unknown): { batch: boolean; items: Array<[string] | [string, string]> } {
  if (typeof value === 'string') return { batch: false, items: [[value]] };
  if (!Array.isArray(value)) throw invalidType('', value, PREDICT_EXPECTING);
  if (value.length === 0 || value.length > 2) {
    if (value.length > 2 && typeof value[0] !== 'string') return readPredictBatch(value);
    throw new FieldError('', `invalid length ${value.length}, expected ${PREDICT_EXPECTING}`);
  }
  if (typeof value[0] === 'string') {
    if (value.length === 2 && typeof value[1] !== 'string') {
      throw invalidType('', value[1], 'a string');
    }
    return { batch: false, items: [value as [string] | [string, string]] };
  }
  return readPredictBatch(value);
}

function readPredictBatch(value: unknown[]): { batch: boolean; items: Array<[string] | [string, string]> } {
  const items = value.map((v) => {
    if (!Array.isArray(v)) throw invalidType('', v, 'a sequence');
    if (v.length < 1 || v.length > 2) {
      throw new FieldError('', `invalid length ${v.length}, expected ${PREDICT_EXPECTING}`);
    }
    for (const s of v) if (typeof s !== 'string') throw invalidType('', s, 'a string');
    return v as [string] | [string, string];
  });
  return { batch: true, items };
}

export function decodePredict(text: string, version: TeiVersion): PredictBody {
  const r = new StructReader(parseJson(text), 'PredictRequest');
  const input = r.required('inputs', readPredictInput);
  return {
    ...input,
    truncate: readTruncate(r),
    truncationDirection: r.defaulted('truncation_direction', directionReader(version), 'Right'),
    rawScores: r.defaulted('raw_scores', readBool, false),
  };
}

function readStrings(value: unknown, raw?: string): string[] {
  if (!Array.isArray(value)) throw invalidType('', value, 'a sequence', raw);
  value.forEach((v, i) => {
    if (typeof v !== 'string') throw new FieldError(String(i), invalidType('', v, 'a string').message);
  });
  return value as string[];
}

export function decodeRerank(text: string, version: TeiVersion): RerankBody {
  const r = new StructReader(parseJson(text), 'RerankRequest');
  return {
    query: r.required('query', readString),
    texts: r.required('texts', readStrings),
    truncate: readTruncate(r),
    truncationDirection: r.defaulted('truncation_direction', directionReader(version), 'Right'),
    rawScores: r.defaulted('raw_scores', readBool, false),
    returnText: r.defaulted('return_text', readBool, false),
  };
}

export function decodeSimilarity(text: string, version: TeiVersion): SimilarityBody {
  const r = new StructReader(parseJson(text), 'SimilarityRequest');
  const inputs = r.required('inputs', (v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw invalidType('', v, 'struct SimilarityInput');
    }
    const o = v as Record<string, unknown>;
    if (!('source_sentence' in o)) throw new FieldError('', 'missing field `source_sentence`');
    if (!('sentences' in o)) throw new FieldError('', 'missing field `sentences`');
    const source = nested('source_sentence', () => readString(o.source_sentence));
    const sentences = nested('sentences', () => readStrings(o.sentences));
    return { source, sentences };
  });
  const params = r.optional(
    'parameters',
    (v) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        throw invalidType('', v, 'struct SimilarityParameters');
      }
      const o = v as Record<string, unknown>;
      const dir = directionReader(version);
      return {
        truncate: o.truncate == null ? null : nested('truncate', () => readBool(o.truncate)),
        truncationDirection:
          o.truncation_direction === undefined
            ? ('Right' as const)
            : nested('truncation_direction', () => dir(o.truncation_direction)),
        promptName: o.prompt_name == null ? null : nested('prompt_name', () => readString(o.prompt_name)),
      };
    },
    null,
  );
  return {
    source: inputs.source,
    sentences: inputs.sentences,
    truncate: params?.truncate ?? null,
    truncationDirection: params?.truncationDirection ?? 'Right',
    promptName: params?.promptName ?? null,
  };
}

function nested<T>(key: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof FieldError) throw new FieldError(err.path ? `${key}.${err.path}` : key, err.message);
    throw err;
  }
}

export function decodeTokenize(text: string): TokenizeBody {
  const r = new StructReader(parseJson(text), 'TokenizeRequest');
  const inputs = r.required('inputs', (v) => {
    if (typeof v === 'string') return { batch: false, inputs: [v] };
    if (Array.isArray(v) && v.every((s) => typeof s === 'string'))
      return { batch: true, inputs: v as string[] };
    throw untagged('TokenizeInput');
  });
  return {
    ...inputs,
    addSpecialTokens: r.defaulted('add_special_tokens', readBool, true),
    promptName: readPromptName(r),
  };
}

export function decodeDecode(text: string): DecodeBody {
  const r = new StructReader(parseJson(text), 'DecodeRequest');
  const ids = r.required('ids', (v) => {
    if (isIdList(v)) return { batch: false, ids: [v] };
    if (Array.isArray(v) && v.every(isIdList)) return { batch: true, ids: v as number[][] };
    throw untagged('InputIds');
  });
  return { ...ids, skipSpecialTokens: r.defaulted('skip_special_tokens', readBool, true) };
}

export function decodeOpenAiEmbed(text: string): OpenAiEmbedBody {
  const r = new StructReader(parseJson(text), 'OpenAICompatRequest');
  return {
    input: r.required('input', readInput),
    model: r.optional('model', readString, null),
    encodingFormat: r.defaulted(
      'encoding_format',
      (v, raw) => {
        if (typeof v !== 'string') {
          throw new FieldError('', `invalid type: ${describe(v, raw)}, expected enum EncodingFormat`);
        }
        if (v === 'float' || v === 'base64') return v;
        throw new FieldError('', `unknown variant \`${v}\`, expected \`float\` or \`base64\``);
      },
      'float' as const,
    ),
    dimensions: r.optional('dimensions', readU32, null),
    outputDtype: r.defaulted('output_dtype', readOutputDtype, 'float' as OutputDtype),
  };
}

/** `output_dtype`: one of OUTPUT_DTYPES (serde's messages for an enum). */
function readOutputDtype(v: unknown, raw: string | undefined): OutputDtype {
  if (typeof v !== 'string') {
    throw new FieldError('', `invalid type: ${describe(v, raw)}, expected enum OutputDtype`);
  }
  if (isOutputDtype(v)) return v;
  throw new FieldError(
    '',
    `unknown variant \`${v}\`, expected one of ${OUTPUT_DTYPES.map((d) => `\`${d}\``).join(', ')}`,
  );
}
