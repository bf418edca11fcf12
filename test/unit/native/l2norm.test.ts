/**
 * l2NormalizeRows: the native addon (native/l2_normalize.cc) and its JS twin
 * (src/native/fallback.ts) must agree bit for bit and throw identical errors.
 *
 * Without the addon the agreement tests skip, unless TEI_ROUTER_REQUIRE_NATIVE=1
 * (CI with a compiler), where a missing addon is a failure.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { loadNative } from '../../../src/native/binding.js';
import { jsImpl, kernelPaths, l2NormalizeRows, nativeImpl, nativeStatus } from '../../../src/native/index.js';
import type { KernelImpl } from '../../../src/native/index.js';
import { REQUIRE_NATIVE, needNative } from '../../helpers/native.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

// ---------------------------------------------------------------------------
// Seeded inputs

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function fromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0];
}
function bitsOf(x: number): string {
  f32[0] = x;
  return `0x${u32[0].toString(16).padStart(8, '0')}`;
}

type Kind = 'uniform' | 'gauss' | 'bits' | 'huge' | 'tiny' | 'scaled' | 'negative' | 'sparse';
const KINDS: readonly Kind[] = ['uniform', 'gauss', 'bits', 'huge', 'tiny', 'scaled', 'negative', 'sparse'];

function randomFiniteBits(r: () => number): number {
  for (;;) {
    const bits = (r() * 4294967296) >>> 0;
    if (((bits >>> 23) & 0xff) !== 0xff) return fromBits(bits); // not NaN/Infinity
  }
}

function matrix(kind: Kind, rows: number, dim: number, seed: number): Float32Array {
  const r = rng(seed);
  const m = new Float32Array(rows * dim);
  for (let row = 0; row < rows; row++) {
    const off = row * dim;
    // Every kind gets some all-zero and all-negative-zero rows.
    const special = r();
    if (rows > 2 && special < 0.03) continue; // +0 row
    if (rows > 2 && special < 0.05) {
      m.fill(-0, off, off + dim);
      continue;
    }
    const scale = 2 ** Math.floor(r() * 277 - 149); // 2^-149 .. 2^127, per row
    for (let i = off; i < off + dim; i++) {
      switch (kind) {
        case 'uniform':
          m[i] = r() * 2 - 1;
          break;
        case 'gauss':
          m[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
          break;
        case 'bits': // every finite float32: signs, subnormals, huge, tiny
          m[i] = randomFiniteBits(r);
          break;
        case 'huge':
          m[i] = (r() < 0.5 ? -1 : 1) * fromBits(0x7f7fffff - ((r() * 0x800000) >>> 0)); // near +-FLT_MAX
          break;
        case 'tiny': // subnormals only
          m[i] = (r() < 0.5 ? -1 : 1) * fromBits(1 + ((r() * 0x7fffff) >>> 0));
          break;
        case 'scaled':
          m[i] = (r() * 2 - 1) * scale;
          break;
        case 'negative':
          m[i] = -r() - Number.MIN_VALUE;
          break;
        case 'sparse':
          m[i] = r() < 0.9 ? 0 : r() * 2 - 1;
          break;
      }
    }
  }
  return m;
}

function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

function assertBitIdentical(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const i = firstBitDifference(actual, expected);
  if (i >= 0) {
    assert.fail(
      `${what}: first difference at [${i}]: ${actual[i]} (${bitsOf(actual[i])}) vs ${expected[i]} (${bitsOf(expected[i])})`,
    );
  }
}

/** Runs both implementations on copies of `input`; returns [js, native]. */
function runBoth(native: KernelImpl, input: Float32Array, dim: number): [Float32Array, Float32Array] {
  const js = input.slice();
  const nat = input.slice();
  jsImpl.l2NormalizeRows(js, dim);
  native.l2NormalizeRows(nat, dim);
  return [js, nat];
}

function assertUnitRows(out: Float32Array, input: Float32Array, dim: number, what: string): void {
  for (let off = 0; off < out.length; off += dim) {
    let inSum = 0;
    let outSum = 0;
    for (let i = off; i < off + dim; i++) {
      inSum += input[i] * input[i];
      outSum += out[i] * out[i];
    }
    if (inSum === 0) {
      assertBitIdentical(out.subarray(off, off + dim), input.subarray(off, off + dim), `${what} zero row`);
    } else {
      // float32 rounding of each element: relative error <= 2^-24 per value.
      assert.ok(Math.abs(outSum - 1) < 1e-6, `${what} row ${off / dim}: |y|^2 = ${outSum}`);
    }
  }
}

const DIMS = [1, 2, 3, 7, 384, 1024];
const ROWS = [0, 1, 3, 1000];

// ---------------------------------------------------------------------------

describe('l2NormalizeRows: JS twin', () => {
  test('known values', () => {
    const m = new Float32Array([3, 4, 0, 0, -5, 12, 1e-45, 0]);
    jsImpl.l2NormalizeRows(m, 2);
    assert.deepEqual(Array.from(m), [
      Math.fround(0.6),
      Math.fround(0.8),
      0,
      0,
      Math.fround(-5 / 13),
      Math.fround(12 / 13),
      1,
      0,
    ]);
  });

  test('unit length after normalisation, zero rows unchanged (incl. -0)', () => {
    for (const kind of KINDS) {
      for (const dim of [1, 3, 384, 1024]) {
        const input = matrix(kind, 200, dim, dim * 31 + KINDS.indexOf(kind));
        const out = input.slice();
        jsImpl.l2NormalizeRows(out, dim);
        assertUnitRows(out, input, dim, `js ${kind} 200x${dim}`);
      }
    }
  });

  test('empty input is a no-op for any valid dim', () => {
    for (const dim of [1, 7, 2 ** 40]) jsImpl.l2NormalizeRows(new Float32Array(0), dim);
  });
});

describe('l2NormalizeRows: native == JS, bit for bit', () => {
  test('seeded random matrices (dims 1..1024, rows 0..1000, 8 value kinds)', (t) => {
    const native = needNative(t);
    if (!native) return;
    let seed = 1;
    let checked = 0;
    for (const kind of KINDS) {
      for (const dim of DIMS) {
        for (const rows of ROWS) {
          const input = matrix(kind, rows, dim, seed++);
          const [js, nat] = runBoth(native, input, dim);
          assertBitIdentical(nat, js, `${kind} ${rows}x${dim} (seed ${seed - 1})`);
          if (rows > 0) assertUnitRows(nat, input, dim, `native ${kind} ${rows}x${dim}`);
          checked += input.length;
        }
      }
    }
    t.diagnostic(`${checked} values compared`);
  });

  test('many small random shapes', (t) => {
    const native = needNative(t);
    if (!native) return;
    const r = rng(0xc0ffee);
    for (let n = 0; n < 500; n++) {
      const dim = 1 + Math.floor(r() * 64);
      const rows = Math.floor(r() * 9);
      const kind = KINDS[Math.floor(r() * KINDS.length)];
      const input = matrix(kind, rows, dim, n + 10_000);
      const [js, nat] = runBoth(native, input, dim);
      assertBitIdentical(nat, js, `case ${n}: ${kind} ${rows}x${dim}`);
    }
  });

  test('zero rows (+0 and -0) are left bit-for-bit unchanged', (t) => {
    const native = needNative(t);
    if (!native) return;
    const input = new Float32Array([0, 0, 0, -0, -0, -0, 0, -0, 0, 1, 2, 2]);
    const [js, nat] = runBoth(native, input, 3);
    assertBitIdentical(nat, js, 'zero rows');
    assertBitIdentical(nat.subarray(0, 9), input.subarray(0, 9), 'zero rows unchanged');
    assert.deepEqual(Array.from(nat.subarray(9)), [
      Math.fround(1 / 3),
      Math.fround(2 / 3),
      Math.fround(2 / 3),
    ]);
  });

  test('extremes: FLT_MAX, smallest subnormal, mixed magnitudes, single non-zero', (t) => {
    const native = needNative(t);
    if (!native) return;
    const MAX = fromBits(0x7f7fffff);
    const MIN_SUB = fromBits(1);
    const MIN_NORMAL = fromBits(0x00800000);
    const rows = [
      [MAX, MAX, MAX, MAX],
      [-MAX, MAX, -MAX, MAX],
      [MIN_SUB, 0, 0, 0],
      [MIN_SUB, MIN_SUB, -MIN_SUB, MIN_SUB],
      [MIN_NORMAL, MIN_SUB, 0, -MIN_NORMAL],
      [MAX, MIN_SUB, 1, -1],
      [0, 0, -7, 0],
      [1e-30, 1e30, -1e-30, 1],
    ];
    const input = new Float32Array(rows.flat());
    const [js, nat] = runBoth(native, input, 4);
    assertBitIdentical(nat, js, 'extremes');
    assertUnitRows(nat, input, 4, 'native extremes');
  });

  test('non-finite inputs give NaN at the same positions', (t) => {
    const native = needNative(t);
    if (!native) return;
    const input = new Float32Array([Infinity, 1, 2, 3, NaN, 1, 0, 0, -Infinity, -Infinity, 0, 0]);
    const [js, nat] = runBoth(native, input, 4);
    for (let i = 0; i < js.length; i++) {
      if (Number.isNaN(js[i])) assert.ok(Number.isNaN(nat[i]), `[${i}] native ${nat[i]} where JS is NaN`);
      else assert.equal(bitsOf(nat[i]), bitsOf(js[i]), `[${i}]`);
    }
  });

  test('subarray views: honours byteOffset and leaves the rest of the buffer alone', (t) => {
    const native = needNative(t);
    if (!native) return;
    const whole = matrix('gauss', 12, 8, 77);
    const [js, nat] = [whole.slice(), whole.slice()];
    jsImpl.l2NormalizeRows(js.subarray(8 * 3, 8 * 9), 8);
    native.l2NormalizeRows(nat.subarray(8 * 3, 8 * 9), 8);
    assertBitIdentical(nat, js, 'subarray');
    assertBitIdentical(nat.subarray(0, 24), whole.subarray(0, 24), 'before the view');
    assertBitIdentical(nat.subarray(72), whole.subarray(72), 'after the view');
  });

  test('the facade keeps l2NormalizeRows on its JS twin even with the addon loaded (under the 2x bar)', (t) => {
    const native = needNative(t);
    if (!native) return;
    assert.equal(nativeStatus().loaded, true);
    assert.notEqual(native.l2NormalizeRows, jsImpl.l2NormalizeRows);
    assert.equal(l2NormalizeRows, jsImpl.l2NormalizeRows);
    assert.equal(kernelPaths.l2NormalizeRows, 'js');
  });
});

describe('l2NormalizeRows: validation (identical errors from both implementations)', () => {
  const P = 'l2NormalizeRows: ';
  type Case = [label: string, data: unknown, dim: unknown, error: typeof TypeError, message: string];
  const f10 = () => new Float32Array(10);
  const cases: Case[] = [
    ['dim 0', f10(), 0, RangeError, `${P}dim must be a positive integer (got 0)`],
    ['dim -1', f10(), -1, RangeError, `${P}dim must be a positive integer (got -1)`],
    ['dim 1.5', f10(), 1.5, RangeError, `${P}dim must be a positive integer (got 1.5)`],
    ['dim -0', f10(), -0, RangeError, `${P}dim must be a positive integer (got 0)`],
    ['dim NaN', f10(), NaN, RangeError, `${P}dim must be a positive integer (got NaN)`],
    ['dim Infinity', f10(), Infinity, RangeError, `${P}dim must be a positive integer (got Infinity)`],
    ['dim 1e-7', f10(), 1e-7, RangeError, `${P}dim must be a positive integer (got 1e-7)`],
    ['dim non-divisor', f10(), 3, RangeError, `${P}data.length (10) is not a multiple of dim (3)`],
    ['dim > length', f10(), 20, RangeError, `${P}data.length (10) is not a multiple of dim (20)`],
    ['dim 1e21', f10(), 1e21, RangeError, `${P}data.length (10) is not a multiple of dim (1e+21)`],
    ['dim string', f10(), '2', TypeError, `${P}dim must be a number`],
    ['dim bigint', f10(), 2n, TypeError, `${P}dim must be a number`],
    ['dim missing', f10(), undefined, TypeError, `${P}dim must be a number`],
    ['dim null', f10(), null, TypeError, `${P}dim must be a number`],
    ['dim Number object', f10(), Object(2), TypeError, `${P}dim must be a number`],
    ['data Float64Array', new Float64Array(4), 2, TypeError, `${P}data must be a Float32Array`],
    ['data Uint8Array', new Uint8Array(4), 2, TypeError, `${P}data must be a Float32Array`],
    ['data Buffer', Buffer.alloc(16), 2, TypeError, `${P}data must be a Float32Array`],
    ['data DataView', new DataView(new ArrayBuffer(16)), 2, TypeError, `${P}data must be a Float32Array`],
    ['data ArrayBuffer', new ArrayBuffer(16), 2, TypeError, `${P}data must be a Float32Array`],
    ['data number[]', [3, 4], 2, TypeError, `${P}data must be a Float32Array`],
    ['data array-like', { length: 2, 0: 3, 1: 4 }, 2, TypeError, `${P}data must be a Float32Array`],
    ['data null', null, 2, TypeError, `${P}data must be a Float32Array`],
    ['data missing', undefined, undefined, TypeError, `${P}data must be a Float32Array`],
    ['both wrong', [1], 0, TypeError, `${P}data must be a Float32Array`],
  ];

  function capture(fn: (data: Float32Array, dim: number) => void, data: unknown, dim: unknown): unknown {
    try {
      fn(data as Float32Array, dim as number);
    } catch (err) {
      return err;
    }
    return assert.fail('did not throw');
  }

  test('JS twin: error class and message', () => {
    for (const [label, data, dim, error, message] of cases) {
      const err = capture(jsImpl.l2NormalizeRows, data, dim);
      assert.ok(err instanceof error, `${label}: ${String(err)}`);
      assert.equal((err as Error).message, message, label);
    }
  });

  test('native: same error class and message as the JS twin', (t) => {
    const native = needNative(t);
    if (!native) return;
    for (const [label, data, dim, error] of cases) {
      const jsErr = capture(jsImpl.l2NormalizeRows, data, dim) as Error;
      const natErr = capture(native.l2NormalizeRows, data, dim) as Error;
      assert.ok(natErr instanceof error, `${label}: native threw ${String(natErr)}`);
      assert.equal(natErr.constructor, jsErr.constructor, label);
      assert.equal(natErr.message, jsErr.message, label);
    }
  });

  test('a rejected call leaves the data untouched', (t) => {
    const impls: [string, KernelImpl][] = [['js', jsImpl]];
    if (nativeImpl) impls.push(['native', nativeImpl]);
    else if (!REQUIRE_NATIVE) t.diagnostic('native addon not built: JS only');
    else assert.fail('TEI_ROUTER_REQUIRE_NATIVE=1 but the native addon is not loaded');
    for (const [name, impl] of impls) {
      const data = matrix('gauss', 1, 10, 5);
      const before = data.slice();
      assert.throws(() => impl.l2NormalizeRows(data, 3), RangeError);
      assertBitIdentical(data, before, name);
    }
  });

  test('native accepts an empty matrix with any valid dim', (t) => {
    const native = needNative(t);
    if (!native) return;
    for (const dim of [1, 7, 2 ** 40, 2 ** 53]) native.l2NormalizeRows(new Float32Array(0), dim);
  });
});

// ---------------------------------------------------------------------------

describe('native loader (src/native/binding.ts)', () => {
  const bindingUrl = pathToFileURL(join(ROOT, 'src/native/binding.ts')).href;
  const indexUrl = pathToFileURL(join(ROOT, 'src/native/index.ts')).href;
  const WARNING = /^tei-router: native addon not loaded \((.+)\); using the pure-JS path$/;

  /** Loads binding.ts and index.ts in a fresh process, calls loadNative() twice, reports. */
  function child(env: Record<string, string | undefined>) {
    const code = `
      const b = await import(${JSON.stringify(bindingUrl)});
      const first = b.loadNative();
      const second = b.loadNative();
      const idx = await import(${JSON.stringify(indexUrl)});
      const third = b.loadNative();
      const m = new Float32Array([3, 4]);
      idx.l2NormalizeRows(m, 2);
      console.log(JSON.stringify({
        same: first === second && second === third,
        isNull: first === null,
        status: b.nativeStatus(),
        nativeImpl: idx.nativeImpl !== null,
        result: Array.from(m),
      }));`;
    const childEnv: NodeJS.ProcessEnv = { ...process.env };
    for (const k of ['TEI_ROUTER_NATIVE', 'TEI_ROUTER_NATIVE_PATH', 'NODE_TEST_CONTEXT', 'NODE_OPTIONS']) {
      delete childEnv[k];
    }
    for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: ROOT,
      env: childEnv,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(res.status, 0, `child failed: ${res.stderr}`);
    const warnings = res.stderr.split('\n').filter((l) => l.includes('native addon'));
    return { out: JSON.parse(res.stdout.trim()), warnings, stderr: res.stderr };
  }

  test('loadNative() is memoised (same object on every call)', () => {
    const a = loadNative();
    assert.equal(loadNative(), a);
    assert.equal(a !== null, nativeImpl !== null);
    if (a && nativeImpl) assert.equal(a.l2NormalizeRows, nativeImpl.l2NormalizeRows);
  });

  test('missing binary (TEI_ROUTER_NATIVE_PATH=/nonexistent.node): null, JS path, one warning', () => {
    const { out, warnings } = child({ TEI_ROUTER_NATIVE_PATH: '/nonexistent.node' });
    assert.equal(out.same, true);
    assert.equal(out.isNull, true);
    assert.equal(out.nativeImpl, false);
    assert.equal(out.status.loaded, false);
    assert.match(out.status.reason, /\/nonexistent\.node not found/);
    assert.deepEqual(out.result, [Math.fround(0.6), Math.fround(0.8)]);
    assert.equal(warnings.length, 1, `expected exactly one warning, got:\n${warnings.join('\n')}`);
    assert.match(warnings[0], WARNING);
  });

  test('unloadable binary: null, one warning naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tei-router-native-'));
    try {
      const bogus = join(dir, 'bogus.node');
      writeFileSync(bogus, 'not a shared object');
      const { out, warnings } = child({ TEI_ROUTER_NATIVE_PATH: bogus });
      assert.equal(out.same, true);
      assert.equal(out.isNull, true);
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0], WARNING);
      assert.ok(warnings[0].includes(bogus), warnings[0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('TEI_ROUTER_NATIVE=0 disables the addon without a warning', () => {
    const { out, warnings } = child({ TEI_ROUTER_NATIVE: '0' });
    assert.equal(out.same, true);
    assert.equal(out.isNull, true);
    assert.deepEqual(out.status, { loaded: false, reason: 'disabled by TEI_ROUTER_NATIVE=0' });
    assert.deepEqual(warnings, []);
    assert.deepEqual(out.result, [Math.fround(0.6), Math.fround(0.8)]);
  });

  test('default path resolves to build/Release under the package root', (t) => {
    if (!nativeImpl && !REQUIRE_NATIVE) {
      t.skip('native addon not built');
      return;
    }
    const { out, warnings } = child({});
    assert.deepEqual(warnings, []);
    assert.equal(out.status.loaded, true);
    assert.equal(out.status.path, join(ROOT, 'build', 'Release', 'tei_router_native.node'));
    assert.equal(out.nativeImpl, true);
  });
});
