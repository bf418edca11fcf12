/**
 * Worker results cross back to the main thread by transfer: the vectors and row-token buffers are moved (the
 * sender's copies detach), never structured-cloned; failures carry no buffers and go as they are.
 */
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { Piscina } from 'piscina';
import { movedResult } from '../../../src/workers/move.js';
import type { EmbedTaskOk, EmbedTaskResult } from '../../../src/workers/protocol.js';

function okResult(rows: number, dim: number): EmbedTaskOk {
  const vectors = new Float32Array(rows * dim).map((_, i) => i / 7);
  return {
    ok: true,
    dim,
    vectors,
    tokens: rows * 3,
    rowTokens: new Int32Array(rows).fill(3),
    batches: 1,
    partErrors: [null],
    timings: { tokenizationNs: 1, queueNs: 2, inferenceNs: 3 },
    stats: { startedAtMs: 0, tokenizeNs: 1, backendNs: 2, batches: [], splitParts: 0 },
  };
}

/** Posts what a Piscina worker would: the movable's value with its transfer list; resolves with what arrives. */
function postLikePiscina(moved: unknown): Promise<EmbedTaskResult> {
  const m = moved as Record<symbol, unknown>;
  const value = Piscina.transferableSymbol in m ? m[Piscina.valueSymbol] : moved;
  const transfer = (Piscina.transferableSymbol in m ? m[Piscina.transferableSymbol] : []) as ArrayBuffer[];
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port2.once('message', (v: EmbedTaskResult) => {
      port1.close();
      resolve(v);
    });
    port1.postMessage(value, transfer);
  });
}

describe('worker results are moved, not copied', () => {
  it('a result lists its vectors and row-token buffers for transfer; posting detaches the originals', async () => {
    const result = okResult(1000, 768);
    const expected = Float32Array.from(result.vectors);
    const vectorsBuffer = result.vectors.buffer;
    const tokensBuffer = result.rowTokens.buffer;
    const moved = movedResult(result) as Record<symbol, unknown>;
    assert.deepEqual(moved[Piscina.transferableSymbol], [vectorsBuffer, tokensBuffer]);
    assert.equal(moved[Piscina.valueSymbol], result);

    const received = await postLikePiscina(moved);
    assert.equal(vectorsBuffer.byteLength, 0, 'the worker-side vectors buffer is detached (moved)');
    assert.equal(tokensBuffer.byteLength, 0, 'the worker-side row-token buffer is detached (moved)');
    assert.ok(received.ok);
    assert.equal(received.vectors.length, 1000 * 768);
    assert.deepEqual(received.vectors, expected, 'the vectors arrive intact');
    assert.deepEqual(received.rowTokens, new Int32Array(1000).fill(3));
  });

  it('an empty result (no row had text) and a failure go without a transfer list', async () => {
    const empty = okResult(0, 0);
    const moved = movedResult(empty) as Record<symbol, unknown>;
    assert.deepEqual(moved[Piscina.transferableSymbol], []);
    const received = await postLikePiscina(moved);
    assert.ok(received.ok && received.vectors.length === 0);

    const failed: EmbedTaskResult = {
      ok: false,
      error: { kind: 'router', code: 'ROUTER_ERR_INTERNAL', message: 'x' },
    };
    assert.equal(movedResult(failed), failed);
    assert.deepEqual(await postLikePiscina(failed), failed);
  });
});
