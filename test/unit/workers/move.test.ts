/**
 * Worker results cross back to the main thread by transfer: the vectors and row-token buffers are moved (the
 * sender's copies detach), never structured-cloned; failures carry no buffers and go as they are.
 */
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { Piscina } from 'piscina';
import { textBatchFromStrings, transferList } from '../../../src/pipeline/text-batch.js';
import { movedResult } from '../../../src/workers/move.js';
import type { EmbedTask, EmbedTaskOk, EmbedTaskResult } from '../../../src/workers/protocol.js';
import { cloneBytes } from '../../helpers/clone-bytes.js';

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

function task(texts: string[]): EmbedTask {
  return {
    kind: 'embed',
    model: 'm',
    tokenizer: undefined,
    texts: textBatchFromStrings(texts),
    parts: [texts.length],
    params: { truncate: true, direction: 'Right', normalize: true, dimensions: null, promptName: null },
    backends: [
      {
        index: 0,
        url: 'grpc://127.0.0.1:1',
        weight: 1,
        maxBatchTokens: 16384,
        maxClientBatchSize: 512,
        maxInputLength: 512,
      },
    ],
    balancing: 'p2c_tokens',
    deadline: 1e13,
    hedging: false,
  };
}

/** The bytes a moved result's message copies (its buffers transferred, as Piscina posts it). */
function resultBytes(result: EmbedTaskResult): number {
  const m = movedResult(result) as Record<symbol, unknown>;
  if (!(Piscina.transferableSymbol in m)) return cloneBytes(m);
  return cloneBytes(m[Piscina.valueSymbol], m[Piscina.transferableSymbol] as ArrayBuffer[]);
}

describe('bytes copied across the worker boundary per task', () => {
  it('a task copies its few fields, not its texts; a result copies its fields, not its vectors', (t) => {
    const small = Array.from({ length: 10 }, (_, i) => `text ${i}`);
    const big = Array.from({ length: 1000 }, (_, i) => `a longer text number ${i} `.repeat(4));
    const bigTask = task(big);
    const textBytes = bigTask.texts.data.byteLength + bigTask.texts.offsets.byteLength;
    const copied = {
      task10: cloneBytes(task(small), transferList(task(small).texts)),
      task1000: cloneBytes(bigTask, transferList(bigTask.texts)),
      result10x384: resultBytes(okResult(10, 384)),
      result1000x768: resultBytes(okResult(1000, 768)),
    };
    t.diagnostic(
      `bytes copied: task of 10 texts ${copied.task10}, of 1,000 texts (${textBytes} B of text) ${copied.task1000}; ` +
        `result 10x384 ${copied.result10x384}, 1,000x768 (${1000 * 768 * 4} B of vectors) ${copied.result1000x768}`,
    );
    // the texts live in shared memory: the task's message is the same size whatever the batch holds
    assert.equal(transferList(bigTask.texts).length, 0, "the pipeline's batches are shared, not transferred");
    assert.ok(copied.task1000 < 2048, `task message ${copied.task1000} B`);
    assert.ok(copied.task1000 - copied.task10 < 16, 'the task message does not grow with its texts');
    // the vectors are transferred: the result's message is the same size whatever it carries
    assert.ok(copied.result1000x768 < 2048, `result message ${copied.result1000x768} B`);
    assert.ok(
      copied.result1000x768 - copied.result10x384 < 16,
      'the result message does not grow with its vectors',
    );
    // and the counter is not blind: the same result cloned without its transfer list copies every vector
    assert.ok(cloneBytes(okResult(1000, 768)) > 1000 * 768 * 4);
  });
});
