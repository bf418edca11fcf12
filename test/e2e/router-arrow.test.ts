/** Arrow IPC through the router: HTTP POST /v1/embed/arrow and gRPC TeiMultiplexer/EmbedArrow. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import {
  Int32,
  RecordBatch,
  Table,
  Utf8,
  makeData,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  Schema,
  Field,
  Struct,
  CompressionType,
  compressionRegistry,
} from 'apache-arrow';
import type { App } from '../../src/app.js';
import type { RunningSim } from '../../src/sim/index.js';
import { grpcClient, postJson, request, sim, unary } from '../helpers/sim.js';
import { routerModel, startRouter } from '../helpers/router.js';

/** An IPC stream of (id, text) rows split into record batches of `per` rows. */
function arrowInput(texts: Array<string | null>, per = texts.length): Uint8Array {
  const schema = new Schema([new Field('id', new Int32(), false), new Field('text', new Utf8(), true)]);
  const batches: RecordBatch[] = [];
  for (let start = 0; start < texts.length || (texts.length === 0 && batches.length === 0); start += per) {
    const part = texts.slice(start, start + Math.max(per, 1));
    const ids = vectorFromArray(
      part.map((_, i) => start + i + 100),
      new Int32(),
    );
    const text = vectorFromArray(part, new Utf8());
    const data = makeData({
      type: new Struct(schema.fields),
      length: part.length,
      children: [ids.data[0], text.data[0]],
    });
    batches.push(new RecordBatch(schema, data));
    if (texts.length === 0) break;
  }
  return tableToIPC(new Table(schema, batches), 'stream');
}

describe('router Arrow IPC', () => {
  let backend: RunningSim;
  let reference: RunningSim;
  let app: App;
  let base: string;

  before(async () => {
    backend = await sim({ modelId: 'mini', maxClientBatchSize: 8 });
    reference = await sim({ modelId: 'mini', maxClientBatchSize: 1000, maxConcurrentRequests: 10000 });
    ({ app, base } = await startRouter([routerModel([backend.url])]));
  });

  after(async () => {
    await app.close();
    await Promise.all([backend.close(), reference.close()]);
  });

  async function expected(texts: string[], normalize = true): Promise<number[][]> {
    const r = await postJson(reference.url, '/embed', { inputs: texts, normalize });
    return (JSON.parse(r.body) as number[][]).map((v) => v.map(Math.fround));
  }

  function rowsOf(ipc: Uint8Array): { ids: number[]; embeddings: Array<number[] | null> } {
    const t = tableFromIPC(ipc);
    const emb = t.getChild('embeddings')!;
    const ids = t.getChild('id');
    return {
      ids: ids ? Array.from(ids.toArray() as Int32Array) : [],
      embeddings: Array.from({ length: t.numRows }, (_, i) => {
        const v = emb.get(i) as { toArray(): Float32Array } | null;
        return v === null ? null : Array.from(v.toArray());
      }),
    };
  }

  it('HTTP: every batch read, row i is input row i, nulls stay null, ids echoed', async () => {
    const texts = [
      'hello world',
      null,
      'third text',
      'fourth',
      null,
      'sixth row here',
      'seven',
      'eight',
      'nine',
      'ten',
    ];
    const r = await fetch(`${base}/v1/embed/arrow`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.apache.arrow.stream' },
      body: arrowInput(texts, 3),
    });
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(r.headers.get('content-type'), 'application/vnd.apache.arrow.stream');
    const out = rowsOf(new Uint8Array(await r.arrayBuffer()));
    assert.deepEqual(
      out.ids,
      texts.map((_, i) => 100 + i),
    );
    const present = texts.filter((t): t is string => t !== null);
    const want = await expected(present);
    let k = 0;
    texts.forEach((t, i) => {
      if (t === null) assert.equal(out.embeddings[i], null, `row ${i} should be null`);
      else assert.deepEqual(out.embeddings[i], want[k++], `row ${i}`);
    });
    const schema = tableFromIPC(arrowInput(['x'])).schema;
    assert.equal(schema.fields[1].name, 'text');
  });

  it('HTTP: ?compression=none answers batches a reader without codecs can read (regression: it was ignored)', async () => {
    const post = (q: string) =>
      fetch(`${base}/v1/embed/arrow${q}`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.apache.arrow.stream' },
        body: arrowInput(['plain output', 'second row']),
      }).then(async (r) => new Uint8Array(await r.arrayBuffer()));
    const [plain, lz4] = await Promise.all([post('?compression=none'), post('')]);
    // this process registered the router's codecs; take LZ4 away to read as a stock apache-arrow user does
    const prev = compressionRegistry.get(CompressionType.LZ4_FRAME)!;
    compressionRegistry.set(CompressionType.LZ4_FRAME, {});
    try {
      assert.throws(() => tableFromIPC(lz4), /compressed but codec not found/, 'default output is LZ4_FRAME');
      const out = rowsOf(plain);
      assert.deepEqual(out.embeddings, await expected(['plain output', 'second row']));
    } finally {
      compressionRegistry.set(CompressionType.LZ4_FRAME, prev);
    }
  });

  it('HTTP: zero rows give a valid empty result; bad input is a clear 422', async () => {
    const r = await fetch(`${base}/v1/embed/arrow`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.apache.arrow.stream' },
      body: arrowInput([]),
    });
    assert.equal(r.status, 200);
    const t = tableFromIPC(new Uint8Array(await r.arrayBuffer()));
    assert.equal(t.numRows, 0);
    const bad = await request(`${base}/v1/embed/arrow`, 'POST', Buffer.from('not arrow at all'), {
      'content-type': 'application/vnd.apache.arrow.stream',
    });
    assert.equal(bad.status, 422);
    assert.equal(JSON.parse(bad.body).code, 'ROUTER_ERR_ARROW_INVALID');
    const wrongType = await request(`${base}/v1/embed/arrow`, 'POST', '{}', {
      'content-type': 'application/json',
    });
    assert.equal(wrongType.status, 415);
  });

  it('gRPC EmbedArrow: normalize as asked, nulls kept, noop answers zeros without a backend', async () => {
    const client = grpcClient('tei_multiplexer.v1.TeiMultiplexer', `127.0.0.1:${app.ports.grpc}`);
    try {
      const texts = ['alpha', null, 'beta gamma'];
      const { res } = await unary<{ arrow_ipc: Buffer }>(client, 'EmbedArrow', {
        target: { model_id: 'mini' },
        arrow_ipc: arrowInput(texts),
        normalize: true,
        truncate: true,
      });
      const out = rowsOf(new Uint8Array(res.arrow_ipc));
      const want = await expected(['alpha', 'beta gamma']);
      assert.deepEqual(out.embeddings, [want[0], null, want[1]]);
      const raw = await unary<{ arrow_ipc: Buffer }>(client, 'EmbedArrow', {
        target: { instance_name: 'mini' },
        arrow_ipc: arrowInput(['alpha']),
      });
      assert.deepEqual(
        rowsOf(new Uint8Array(raw.res.arrow_ipc)).embeddings,
        await expected(['alpha'], false),
      );
      const noop = await unary<{ arrow_ipc: Buffer }>(client, 'EmbedArrow', {
        target: { instance_name: 'does-not-exist' },
        arrow_ipc: arrowInput(['a', 'b']),
        noop: true,
      });
      const zeros = rowsOf(new Uint8Array(noop.res.arrow_ipc)).embeddings;
      assert.equal(zeros.length, 2);
      assert.equal(zeros[0]!.length, 384);
      assert.ok(
        zeros.every((v) => v!.every((x) => x === 0)),
        'noop answers zeros',
      );
      await assert.rejects(
        unary(client, 'EmbedArrow', { target: { model_id: 'mini' }, arrow_ipc: Buffer.from('junk') }),
        (e: grpc.ServiceError) => {
          assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
          assert.match(e.details, /Arrow IPC/);
          return true;
        },
      );
      await assert.rejects(
        unary(client, 'EmbedArrow', { arrow_ipc: arrowInput(['a']), noop: true }),
        (e: grpc.ServiceError) => {
          assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
          return true;
        },
      );
    } finally {
      client.close();
    }
  });
});

describe('router Arrow IPC: a Target that pins one backend', () => {
  it('EmbedArrow by instance_index or backend URL uses exactly that replica; a down one is UNAVAILABLE, named, not rerouted', async () => {
    // two replicas of one model whose vectors differ (the sim derives them from its model id)
    const a = await sim({ modelId: 'mini-a' });
    const b = await sim({ modelId: 'mini-b' });
    const { app } = await startRouter([routerModel([a.url, b.url])]);
    const client = grpcClient('tei_multiplexer.v1.TeiMultiplexer', `127.0.0.1:${app.ports.grpc}`);
    const direct = async (url: string, texts: string[]) =>
      (JSON.parse((await postJson(url, '/embed', { inputs: texts })).body) as number[][]).map((v) =>
        v.map(Math.fround),
      );
    const embeddingsOf = (ipc: Buffer) =>
      Array.from({ length: 2 }, (_, i) =>
        Array.from(
          (tableFromIPC(new Uint8Array(ipc)).getChild('embeddings')!.get(i) as Float32Array[]) ?? [],
        ),
      );
    try {
      const texts = ['pinned one', 'pinned two'];
      for (const [target, url] of [
        [{ instance_index: 1 }, b.url],
        [{ instance_name: a.url }, a.url],
        [{ instance_name: b.url }, b.url],
      ] as const) {
        for (let i = 0; i < 3; i++) {
          const { res } = await unary<{ arrow_ipc: Buffer }>(client, 'EmbedArrow', {
            target,
            arrow_ipc: arrowInput(texts),
            normalize: true,
            truncate: true,
          });
          const got = embeddingsOf(res.arrow_ipc).map((v) => v.map(Number));
          assert.deepEqual(got, await direct(url, texts), `${JSON.stringify(target)} call ${i}`);
        }
      }
      await a.close();
      await assert.rejects(
        unary(client, 'EmbedArrow', { target: { instance_index: 0 }, arrow_ipc: arrowInput(texts) }),
        (e: grpc.ServiceError) => {
          assert.equal(e.code, grpc.status.UNAVAILABLE, e.details);
          assert.ok(e.details.includes(a.url), e.details);
          return true;
        },
      );
    } finally {
      client.close();
      await app.close();
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('router Arrow IPC: EmbedSparseArrow', () => {
  it('forwards to a SPLADE backend in chunks and answers List<Struct<index, value>> row for row', async () => {
    const backend = await sim({ modelId: 'splade', pooling: 'splade', maxClientBatchSize: 4 });
    const { app } = await startRouter([routerModel([backend.url], { name: 'splade' })]);
    const client = grpcClient('tei_multiplexer.v1.TeiMultiplexer', `127.0.0.1:${app.ports.grpc}`);
    try {
      const texts = ['hello hello world', null, 'the cat', 'a b c', 'one', 'two words', 'three'];
      const { res } = await unary<{ arrow_ipc: Buffer }>(client, 'EmbedSparseArrow', {
        target: { model_id: 'splade' },
        arrow_ipc: arrowInput(texts),
        truncate: true,
      });
      const t = tableFromIPC(new Uint8Array(res.arrow_ipc));
      assert.equal(t.numRows, texts.length);
      assert.deepEqual(
        Array.from(t.getChild('id')!.toArray() as Int32Array),
        texts.map((_, i) => 100 + i),
      );
      const present = texts.filter((x): x is string => x !== null);
      const want = JSON.parse(
        (await postJson(backend.url, '/embed_sparse', { inputs: present.slice(0, 4) })).body,
      ).concat(
        JSON.parse((await postJson(backend.url, '/embed_sparse', { inputs: present.slice(4) })).body),
      ) as Array<Array<{ index: number; value: number }>>;
      const col = t.getChild('sparse_embeddings')!;
      let k = 0;
      texts.forEach((text, i) => {
        const row = col.get(i) as { toArray(): Array<{ index: number; value: number }> } | null;
        if (text === null) return assert.equal(row, null, `row ${i}`);
        const got = [...(row as unknown as Iterable<{ index: number; value: number }>)].map((e) => ({
          index: e.index,
          value: e.value,
        }));
        assert.deepEqual(
          got,
          want[k++].map((e) => ({ index: e.index, value: Math.fround(e.value) })),
          `row ${i}`,
        );
      });
      const noop = await unary<{ arrow_ipc: Buffer }>(client, 'EmbedSparseArrow', {
        target: { instance_name: 'anything' },
        arrow_ipc: arrowInput(['a']),
        noop: true,
      });
      const n = tableFromIPC(new Uint8Array(noop.res.arrow_ipc)).getChild('sparse_embeddings')!.get(0);
      assert.deepEqual(
        [...(n as unknown as Iterable<{ index: number; value: number }>)].map((e) => [e.index, e.value]),
        [
          [0, 1],
          [100, 0.5],
          [200, 0.25],
        ],
      );
    } finally {
      client.close();
      await app.close();
      await backend.close();
    }
  });
});
