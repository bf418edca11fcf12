/**
 * Arrow in, Arrow out, for every transport (gRPC EmbedArrow, HTTP POST /v1/embed/arrow): decode the IPC stream
 * into one TextBatch without per-row strings, run it through the same pipeline as every embed request, and encode
 * `embeddings: FixedSizeList<Float32, dim>` (+ the `id` column echoed) straight from the result buffer. Output row
 * i is input row i; a null text gives a null embedding.
 */
import { decodeArrowTexts, encodeArrowEmbeddings, encodeArrowSparse } from '../codec/arrow.js';
import { isValid, textAt } from '../pipeline/text-batch.js';
import type { Forwarder } from './forwarder.js';
import type { ArrowIds, ArrowOutputCompression } from '../codec/arrow.js';
import { OUTPUT_DTYPES, isOutputDtype } from '../codec/output-dtype.js';
import type { OutputDtype } from '../codec/output-dtype.js';
import { quantizeRows } from '../native/index.js';
import type { Pipeline } from '../pipeline/index.js';
import { RouterError } from '../errors.js';
import type { ArrowRpc } from './grpc/multiplexer.js';
import type { EmbedParams } from '../workers/protocol.js';

/** Dimension tei-manager's noop mode answers with (it never asks a backend). */
export const NOOP_DIM = 384;

export interface ArrowEmbedOptions {
  params: EmbedParams;
  /** tei-manager's benchmarking mode: zeros, no backend call. */
  noop?: boolean;
  compression?: ArrowOutputCompression;
  signal?: AbortSignal;
  /** A pinned backend (index into the replica list); undefined: any usable replica of the model. */
  replica?: number;
  /** The embeddings' element type (default float: f32). */
  outputDtype?: OutputDtype;
}

/** `vectors` (rows × dim) as the response's embeddings column, quantized when the client asked for it. */
function encodeDense(
  vectors: Float32Array,
  rows: number,
  dim: number,
  rest: { validity: Uint8Array | null; ids: ArrowIds | null; compression: ArrowOutputCompression },
  dtype: OutputDtype,
): Uint8Array {
  const quantized =
    dtype === 'float' || rows === 0 || dim === 0
      ? undefined
      : { dtype, bytes: quantizeRows(vectors.subarray(0, rows * dim), dim, dtype) };
  return encodeArrowEmbeddings({ vectors, rows, dim, ...rest, ...(quantized ? { quantized } : {}) });
}

export async function embedArrow(
  pipeline: Pipeline,
  model: string,
  ipc: Uint8Array,
  options: ArrowEmbedOptions,
): Promise<Uint8Array> {
  const decoded = decodeArrowTexts(ipc);
  const validity = decoded.texts.validity ? decoded.texts.validity.slice() : null;
  const compression = options.compression === undefined ? 'lz4' : options.compression;
  const dtype = options.outputDtype ?? 'float';
  if (options.noop) {
    const rest = { validity, ids: decoded.ids, compression };
    return encodeDense(new Float32Array(decoded.rows * NOOP_DIM), decoded.rows, NOOP_DIM, rest, dtype);
  }
  if (decoded.rows === 0) {
    return encodeArrowEmbeddings({
      vectors: new Float32Array(0),
      rows: 0,
      dim: 0,
      validity: null,
      ids: decoded.ids,
      compression,
    });
  }
  const out = await pipeline.embed(model, decoded.texts, options.params, options.signal, options.replica);
  let dim = out.dim;
  if (dim === 0) {
    // every text was null: the width comes from the request or from an earlier reply of the model
    dim = options.params.dimensions ?? pipeline.knownDim(model) ?? 0;
    if (dim === 0) {
      throw new RouterError(
        'ROUTER_ERR_ARROW_INVALID',
        `every text is null and the embedding width of ${model} is not known yet; send at least one text`,
      );
    }
  }
  const vectors =
    out.vectors.length === decoded.rows * dim ? out.vectors : new Float32Array(decoded.rows * dim);
  return encodeDense(vectors, decoded.rows, dim, { validity, ids: decoded.ids, compression }, dtype);
}

/** An `output_dtype` request parameter (query or metadata) → the dtype; absent: float. */
export function outputDtypeParam(value: string | null | undefined, where: string): OutputDtype {
  if (value === null || value === undefined || value === '') return 'float';
  if (isOutputDtype(value)) return value;
  throw new RouterError(
    'ROUTER_ERR_ARROW_INVALID',
    `${where}=${value}: expected one of ${OUTPUT_DTYPES.join(', ')}`,
  );
}

/** EmbedArrow's request message (tei_multiplexer.v1) → the options of `embedArrow`. */
export function arrowParamsFromGrpc(req: Record<string, unknown>): EmbedParams {
  return {
    truncate: req.truncate === true,
    // tei-manager's proto3 bool: unset is false, and tei-manager passes it as is
    normalize: req.normalize === true,
    direction: req.truncation_direction === 'TRUNCATION_DIRECTION_LEFT' ? 'Left' : 'Right',
    dimensions: typeof req.dimensions === 'number' ? req.dimensions : null,
    promptName: typeof req.prompt_name === 'string' ? req.prompt_name : null,
  };
}

/** HTTP query parameters of POST /v1/embed/arrow (TEI's /embed defaults: truncate and normalize on). */
export function arrowParamsFromQuery(q: URLSearchParams): {
  params: EmbedParams;
  compression: ArrowOutputCompression;
  outputDtype: OutputDtype;
} {
  const bool = (name: string, dflt: boolean): boolean => {
    const v = q.get(name);
    if (v === null) return dflt;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new RouterError('ROUTER_ERR_ARROW_INVALID', `query parameter ${name}=${v}: expected true or false`);
  };
  const dims = q.get('dimensions');
  if (dims !== null && !/^\d+$/.test(dims)) {
    throw new RouterError(
      'ROUTER_ERR_ARROW_INVALID',
      `query parameter dimensions=${dims}: expected a positive integer`,
    );
  }
  const dir = q.get('truncation_direction');
  if (dir !== null && !/^(left|right)$/i.test(dir)) {
    throw new RouterError(
      'ROUTER_ERR_ARROW_INVALID',
      `query parameter truncation_direction=${dir}: expected Left or Right`,
    );
  }
  const compression = q.get('compression');
  if (compression !== null && compression !== 'lz4' && compression !== 'none') {
    throw new RouterError(
      'ROUTER_ERR_ARROW_INVALID',
      `query parameter compression=${compression}: expected lz4 or none`,
    );
  }
  return {
    params: {
      truncate: bool('truncate', true),
      normalize: bool('normalize', true),
      direction: dir !== null && /^left$/i.test(dir) ? 'Left' : 'Right',
      dimensions: dims === null ? null : Number(dims),
      promptName: q.get('prompt_name'),
    },
    compression: compression === 'none' ? null : 'lz4',
    outputDtype: outputDtypeParam(q.get('output_dtype'), 'query parameter output_dtype'),
  };
}

/** A Target with a non-empty routing value: all tei-manager's noop mode asks of a request. */
function noopTarget(target: unknown): string {
  const t = (target ?? {}) as Record<string, unknown>;
  const value = typeof t.routing === 'string' ? t[t.routing] : undefined;
  if (value === undefined || value === '') {
    throw new RouterError(
      'ROUTER_ERR_TARGET_REQUIRED',
      'EmbedArrow needs a target (instance_name, model_id or instance_index), even with noop',
    );
  }
  return String(value);
}

/** tei_multiplexer.v1 EmbedArrow over the pipeline (noop: zeros, the target's existence unchecked, as tei-manager). */
export function grpcEmbedArrow(pipeline: Pipeline): ArrowRpc {
  return async (req, { targets, signal, metadata }) => {
    const noop = req.noop === true;
    const route = noop ? undefined : targets.target(req.target, metadata);
    const model = route ? route.model : noopTarget(req.target);
    const ipc = req.arrow_ipc instanceof Uint8Array ? req.arrow_ipc : new Uint8Array(0);
    const out = await embedArrow(pipeline, model, ipc, {
      params: arrowParamsFromGrpc(req),
      noop,
      signal,
      replica: route?.replica?.index,
      outputDtype: outputDtypeParam(
        firstString(metadata.get(OUTPUT_DTYPE_METADATA)),
        `metadata ${OUTPUT_DTYPE_METADATA}`,
      ),
    });
    return { arrow_ipc: Buffer.from(out.buffer, out.byteOffset, out.byteLength) };
  };
}

/** The gRPC metadata key of EmbedArrow's output dtype (tei-manager's request message has no field for it). */
export const OUTPUT_DTYPE_METADATA = 'x-output-dtype';

function firstString(values: ReadonlyArray<string | Buffer>): string | undefined {
  const v = values[0];
  return v === undefined ? undefined : String(v);
}

export interface SparseArrowOptions {
  truncate: boolean | null;
  direction: 'Right' | 'Left';
  promptName: string | null;
  noop?: boolean;
  compression?: ArrowOutputCompression;
  signal?: AbortSignal;
  /** A pinned backend (index into the replica list); undefined: any usable replica of the model. */
  replica?: number;
}

/**
 * EmbedSparseArrow: the texts are forwarded to the model's replicas as TEI embed_sparse batches (chunked to their
 * max_client_batch_size, in order) and answered as `sparse_embeddings: List<Struct<index, value>>`, row i = input
 * row i, null text → null row. Unlike the dense path this builds one JS string per row on the main thread: the
 * forwarded call is TEI's JSON/protobuf request, which needs them.
 */
export async function embedSparseArrow(
  forwarder: Forwarder,
  model: string,
  ipc: Uint8Array,
  options: SparseArrowOptions,
): Promise<Uint8Array> {
  const { texts, ids, rows } = decodeArrowTexts(ipc);
  const validRows: number[] = [];
  for (let i = 0; i < rows; i++) if (isValid(texts, i)) validRows.push(i);
  const perRow: Array<Array<{ index: number; value: number }>> = new Array(rows);
  if (options.noop) {
    // tei-manager's noop pairs
    for (const i of validRows)
      perRow[i] = [
        { index: i, value: 1 },
        { index: i + 100, value: 0.5 },
        { index: i + 200, value: 0.25 },
      ];
  } else if (validRows.length > 0) {
    const strings = validRows.map((i) => textAt(texts, i));
    const { values } = await forwarder.forwardChunked(
      model,
      strings.length,
      (replica, from, to) => ({
        op: 'embed_sparse',
        request: {
          input: { batch: true, items: strings.slice(from, to) },
          truncate: forwarder.truncateFor(replica, options.truncate),
          truncationDirection: options.direction,
          promptName: options.promptName,
        },
      }),
      options.signal ?? new AbortController().signal,
      { replica: options.replica },
    );
    for (const { value, from } of values) {
      (value as Array<Array<{ index: number; value: number }>>).forEach((entries, k) => {
        perRow[validRows[from + k]] = entries;
      });
    }
  }
  const offsets = new Int32Array(rows + 1);
  for (let i = 0; i < rows; i++) offsets[i + 1] = offsets[i] + (perRow[i]?.length ?? 0);
  const indices = new Uint32Array(offsets[rows]);
  const valuesOut = new Float32Array(offsets[rows]);
  for (let i = 0; i < rows; i++) {
    perRow[i]?.forEach((e, k) => {
      indices[offsets[i] + k] = e.index;
      valuesOut[offsets[i] + k] = e.value;
    });
  }
  return encodeArrowSparse({
    rows,
    offsets,
    indices,
    values: valuesOut,
    validity: texts.validity,
    ids,
    compression: options.compression === undefined ? 'lz4' : options.compression,
  });
}

/** tei_multiplexer.v1 EmbedSparseArrow (noop: tei-manager's three fake pairs per row, target unchecked). */
export function grpcEmbedSparseArrow(forwarder: Forwarder): ArrowRpc {
  return async (req, { targets, signal, metadata }) => {
    const noop = req.noop === true;
    const route = noop ? undefined : targets.target(req.target, metadata);
    const model = route ? route.model : noopTarget(req.target);
    const ipc = req.arrow_ipc instanceof Uint8Array ? req.arrow_ipc : new Uint8Array(0);
    const out = await embedSparseArrow(forwarder, model, ipc, {
      replica: route?.replica?.index,
      truncate: req.truncate === true,
      direction: req.truncation_direction === 'TRUNCATION_DIRECTION_LEFT' ? 'Left' : 'Right',
      promptName: typeof req.prompt_name === 'string' ? req.prompt_name : null,
      noop,
      signal,
    });
    return { arrow_ipc: Buffer.from(out.buffer, out.byteOffset, out.byteLength) };
  };
}
