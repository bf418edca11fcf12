import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findCachedTokenizer, hfCacheDir } from '../../../src/tokenizer/hf-cache.js';

it('finds the newest snapshot tokenizer.json of the first model id the cache holds', () => {
  const cache = mkdtempSync(path.join(tmpdir(), 'hf-cache-'));
  const snap = (id: string, rev: string, ageS: number) => {
    const dir = path.join(cache, `models--${id.replace('/', '--')}`, 'snapshots', rev);
    mkdirSync(dir, { recursive: true });
    const f = path.join(dir, 'tokenizer.json');
    writeFileSync(f, '{}');
    const t = Date.now() / 1000 - ageS;
    utimesSync(f, t, t);
    return f;
  };
  snap('BAAI/bge-small-en-v1.5', 'old', 1000);
  const newest = snap('BAAI/bge-small-en-v1.5', 'new', 10);
  mkdirSync(path.join(cache, 'models--org--empty', 'snapshots', 'r1'), { recursive: true });
  assert.equal(findCachedTokenizer(['bge', 'org/empty', 'BAAI/bge-small-en-v1.5'], cache), newest);
  assert.equal(findCachedTokenizer(['nothing/here', '../escape'], cache), undefined);
});

it('reads the cache location from the environment like huggingface_hub', () => {
  assert.equal(hfCacheDir({ HF_HUB_CACHE: '/a' }), '/a');
  assert.equal(hfCacheDir({ HUGGINGFACE_HUB_CACHE: '/b' }), '/b');
  assert.equal(hfCacheDir({ HF_HOME: '/c' }), path.join('/c', 'hub'));
  assert.match(hfCacheDir({}), /\.cache\/huggingface\/hub$/);
});
