/**
 * A task result handed back to the main thread with its bulk buffers moved (transferred), not copied: Piscina
 * structured-clones a returned value unless it is marked movable, and the vectors of a 1,000-text 768-d task are
 * 3 MB. Only a successful result carries buffers of its own (vectors, rowTokens: allocated by the task, referenced by
 * nothing else once it returns).
 */
import { Piscina } from 'piscina';
import type { EmbedTaskResult } from './protocol.js';

/** What the worker's task function returns: `result`, with its vectors' and row tokens' buffers to be transferred. */
export function movedResult(result: EmbedTaskResult): unknown {
  if (!result.ok) return result;
  const buffers = [result.vectors.buffer, result.rowTokens.buffer].filter(
    (b): b is ArrayBuffer => b instanceof ArrayBuffer && b.byteLength > 0,
  );
  const movable = { [Piscina.transferableSymbol]: buffers, [Piscina.valueSymbol]: result };
  // (Piscina types its symbols as plain `symbol`, so the object literal does not type as its Transferable)
  return Piscina.move(movable as unknown as Parameters<typeof Piscina.move>[0]);
}
