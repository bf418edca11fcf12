/**
 * Cutting a client batch into backend batches: rows sorted by token count (similar lengths together, so padded
 * backends waste little), then cut greedily so that no backend batch exceeds the backend's max_batch_tokens or
 * max_client_batch_size. A row longer than max_batch_tokens alone still gets a batch of its own (TEI accepts any
 * single input up to max_input_length, which is never above max_batch_tokens).
 */

export interface CutLimits {
  maxBatchTokens: number;
  maxClientBatchSize: number;
}

/** `rows`: the row indices to send; `tokens[row]`: that row's token count. Returns batches of row indices. */
export function cutBatches(
  rows: readonly number[],
  tokens: ArrayLike<number>,
  limits: CutLimits,
): number[][] {
  const order = [...rows].sort((a, b) => tokens[a] - tokens[b] || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  let sum = 0;
  for (const row of order) {
    const t = tokens[row];
    if (
      current.length > 0 &&
      (sum + t > limits.maxBatchTokens || current.length >= limits.maxClientBatchSize)
    ) {
      batches.push(current);
      current = [];
      sum = 0;
    }
    current.push(row);
    sum += t;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
