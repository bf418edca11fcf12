/**
 * The direct path: a small embedding request for a model with nothing else in flight goes from the main thread
 * straight to one backend, without a worker hop and without tokenizing. It is taken only when the request cannot
 * break a backend limit whatever its tokenization: every tokenizer TEI serves yields at most one token per UTF-8
 * byte plus the special tokens, so `bytes + SPECIAL_TOKENS` bounds a text's tokens. TEI still validates each
 * input itself (an empty or too-long input gets TEI's own error, as from the worker path). Under load, requests go
 * through the coalescer and the workers instead, where batching pays.
 */
import { attemptErrorLabel } from '../backend/errors.js';
import { sendWithFailover } from '../backend/failover.js';
import type { Deadline } from './deadline.js';
import type { ReplicaSets } from '../backend/replicas.js';
import type { EmbedBatchResult } from '../backend/types.js';
import type { RetryBudget } from '../backend/retry-budget.js';
import type { LoadCounters } from '../backend/balance.js';
import type { BackendView, BatchStat, EmbedParams } from '../workers/protocol.js';
import type { TextBatch } from './text-batch.js';
import { textAt } from './text-batch.js';

/** Requests with more texts than this always take the worker path. */
export const DIRECT_MAX_TEXTS = 8;
/** Special tokens a tokenizer may add to one text (e.g. [CLS] and [SEP]), with room to spare. */
const SPECIAL_TOKENS = 4;

/**
 * The texts as strings when the request qualifies for the direct path (no nulls, no prompt whose length is
 * unknown, within every backend limit by the byte bound), else null.
 */
export function directTexts(
  texts: TextBatch,
  params: EmbedParams,
  views: readonly BackendView[],
): string[] | null {
  if (texts.length === 0 || texts.length > DIRECT_MAX_TEXTS || texts.validity !== null) return null;
  if (params.promptName !== null || views.length === 0) return null;
  const maxBatchTokens = Math.min(...views.map((v) => v.maxBatchTokens));
  const maxClientBatch = Math.min(...views.map((v) => v.maxClientBatchSize));
  const maxInput = Math.min(...views.map((v) => v.maxInputLength));
  if (texts.length > maxClientBatch) return null;
  let bound = 0;
  for (let i = 0; i < texts.length; i++) {
    const bytes = texts.offsets[i + 1] - texts.offsets[i];
    const tokens = bytes + SPECIAL_TOKENS;
    if (!params.truncate && tokens > maxInput) return null;
    bound += params.truncate ? Math.min(tokens, maxInput) : tokens;
  }
  if (bound > maxBatchTokens) return null;
  return Array.from({ length: texts.length }, (_, i) => textAt(texts, i));
}

/**
 * Sends `strings` to the replicas of `order` (the balancer's choice, counters shared with the workers) through the
 * same failover as the workers (failover.ts). Reports each attempt as a batch.
 */
export async function sendDirect(
  replicas: ReplicaSets,
  load: LoadCounters,
  order: () => BackendView[],
  budget: RetryBudget,
  strings: string[],
  params: EmbedParams,
  deadline: Deadline,
  hedging: boolean,
  report: (stat: BatchStat) => void,
): Promise<EmbedBatchResult & { backendNs: number }> {
  const tokens = strings.reduce((s, t) => s + Buffer.byteLength(t) + 2, 0);
  const started = process.hrtime.bigint();
  const batch = {
    texts: strings,
    truncate: params.truncate,
    direction: params.direction,
    normalize: params.normalize,
    dimensions: params.dimensions,
    promptName: params.promptName,
    deadline: deadline.at,
  };
  let answered = 0;
  const r = await sendWithFailover({
    order,
    tokens,
    load,
    budget,
    signal: deadline.signal,
    deadline: deadline.at,
    hedging,
    call: async (view, signal) => {
      const result = await replicas.at(view.index)!.client.embed(batch, signal);
      answered = result.tokens;
      return result;
    },
    report: (view, ns, err) =>
      report({
        backend: view.index,
        texts: strings.length,
        tokens: err === undefined ? answered : 0,
        maxBatchTokens: view.maxBatchTokens,
        ns,
        ...(err === undefined ? {} : { error: attemptErrorLabel(err) }),
      }),
  });
  return { ...r, backendNs: Number(process.hrtime.bigint() - started) };
}
