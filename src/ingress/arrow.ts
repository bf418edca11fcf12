/**
 * Arrow in, Arrow out, for every transport (gRPC EmbedArrow, HTTP POST /v1/embed/arrow): decode the IPC stream
 * into one TextBatch without per-row strings, run it through the same pipeline as every embed request, and encode
 * `embeddings: FixedSizeList<Float32, dim>` (+ the `id` column echoed) straight from the result buffer. Output row
 * i is input row i; a null text gives a null embedding.
 */
import { decodeArrowTexts, encodeArrowEmbeddings, encodeArrowSparse } from '../codec/arrow.js';
import { isValid, textAt } from '../pipeline/text-batch.js';
import type { Forwarder } from './forwarder.js';
import type { ArrowOutputCompression } from '../codec/arrow.js';
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
  if (options.noop) {
    return encodeArrowEmbeddings({
      vectors: new Float32Array(decoded.rows * NOOP_DIM),
      rows: decoded.rows,
      dim: NOOP_DIM,
      validity,
      ids: decoded.ids,
      compression,
    });
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
  return encodeArrowEmbeddings({
    vectors: out.vectors.length === decoded.rows * dim ? out.vectors : new Float32Array(decoded.rows * dim),
    rows: decoded.rows,
    dim,
    validity,
    ids: decoded.ids,
    compression,
  });
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
    });
    return { arrow_ipc: Buffer.from(out.buffer, out.byteOffset, out.byteLength) };
  };
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
