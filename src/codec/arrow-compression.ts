/**
 * Arrow IPC body-compression codecs (LZ4_FRAME, ZSTD) for apache-arrow's process-wide `compressionRegistry`,
 * registered once by `ensureArrowCodecs()`. Every codec here is synchronous and pure JavaScript, so it loads the
 * same way on the main thread and in worker threads.
 *
 * - LZ4_FRAME decode: our own bounded decoder (below). lz4js's decoder sizes its output from the frame header's
 *   content size without a limit and does not check match offsets or input bounds (corrupt input gives garbage,
 *   not an error), which is not acceptable for bytes from the network.
 * - LZ4_FRAME encode: lz4js (pure JS, frame format, linked 4 MiB blocks; its output is read back by the `lz4`
 *   command-line tool).
 * - ZSTD decode: fzstd (pure JS), after checking that the first frame's declared size fits the decode budget.
 * - ZSTD encode: none. No synchronous pure-JS zstd compressor exists on npm; the native ones run download scripts
 *   at install time. Arrow output is therefore LZ4_FRAME or uncompressed.
 *
 * Decompressed sizes are bounded: inside `withDecodeBudget(bytes, fn)` all buffers decoded by `fn` share that many
 * bytes; outside it each buffer may decode to at most DEFAULT_MAX_DECODED_BYTES.
 */
import { createRequire } from 'node:module';

import { CompressionType, compressionRegistry } from 'apache-arrow';
import { decompress as fzstdDecompress } from 'fzstd';

/** Per-buffer ceiling outside an explicit budget (Arrow's Int32 offsets cap one text column at 2 GiB anyway). */
export const DEFAULT_MAX_DECODED_BYTES = 1 << 30;

const require = createRequire(import.meta.url);
const lz4js = require('lz4js') as { compress(src: Uint8Array): Uint8Array };

let scope: { remaining: number } | null = null;

/** Runs `fn` with all buffers it decompresses limited to `maxBytes` in total. Not re-entrant across awaits. */
export function withDecodeBudget<T>(maxBytes: number, fn: () => T): T {
  const prev = scope;
  scope = { remaining: maxBytes };
  try {
    return fn();
  } finally {
    scope = prev;
  }
}

function currentLimit(): number {
  return scope ? scope.remaining : DEFAULT_MAX_DECODED_BYTES;
}

function charge(bytes: number): void {
  if (scope) scope.remaining -= bytes;
}

/** Thrown by the codecs; arrow.ts turns it into a RouterError naming the codec. */
export class CodecError extends Error {
  override name = 'CodecError';
}

let registered = false;

/** Registers the LZ4_FRAME and ZSTD codecs with apache-arrow (idempotent; call before reading or writing IPC). */
export function ensureArrowCodecs(): void {
  if (registered) return;
  compressionRegistry.set(CompressionType.LZ4_FRAME, {
    encode: lz4FrameEncode,
    decode: (data) => {
      const out = lz4FrameDecode(data, currentLimit());
      charge(out.length);
      return out;
    },
  });
  compressionRegistry.set(CompressionType.ZSTD, {
    decode: (data) => {
      const out = zstdDecode(data, currentLimit());
      charge(out.length);
      return out;
    },
  });
  registered = true;
}

const PROBE_MIN = 256 * 1024;
const PROBE_BYTES = 64 * 1024;

/**
 * LZ4-frame compresses `data`. A large buffer whose first 64 KiB do not shrink by 5% (float32 embeddings, as a
 * rule) is returned as is: apache-arrow then stores it uncompressed with the -1 length prefix the Arrow format
 * defines for that, which every reader honours, instead of spending ~8 ms per MB in pure-JS LZ4 for nothing.
 */
export function lz4FrameEncode(data: Uint8Array): Uint8Array {
  if (data.length >= PROBE_MIN && lz4js.compress(data.subarray(0, PROBE_BYTES)).length > PROBE_BYTES * 0.95) {
    return data;
  }
  return lz4js.compress(data);
}

// ---- ZSTD ----

const ZSTD_MAGIC = 0xfd2fb528;

/** fzstd allocates the first frame's declared content size (or its window size) up front: check it first. */
export function zstdDecode(data: Uint8Array, limit: number): Uint8Array {
  if (data.length >= 6 && readU32(data, 0) === ZSTD_MAGIC) {
    const fhd = data[4];
    const fcsFlag = fhd >> 6;
    const singleSegment = (fhd >> 5) & 1;
    const dictBytes = [0, 1, 2, 4][fhd & 3];
    let p = 5;
    let windowSize = 0;
    if (!singleSegment) {
      const wd = data[p++];
      const base = 2 ** (10 + (wd >> 3));
      windowSize = base + (base / 8) * (wd & 7);
    }
    p += dictBytes;
    const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
    let contentSize = 0;
    if (p + fcsBytes > data.length) throw new CodecError('ZSTD frame header is truncated');
    for (let i = 0; i < fcsBytes; i++) contentSize += data[p + i] * 2 ** (8 * i);
    if (fcsFlag === 1) contentSize += 256;
    const alloc = contentSize || windowSize;
    if (alloc > limit) {
      throw new CodecError(`ZSTD frame declares ${alloc} bytes, over the ${limit}-byte decompression limit`);
    }
  }
  let out: Uint8Array;
  try {
    out = fzstdDecompress(data);
  } catch (e) {
    throw new CodecError(`ZSTD data is corrupt (${(e as Error).message})`);
  }
  if (out.length > limit) {
    throw new CodecError(`ZSTD data decompresses to ${out.length} bytes, over the ${limit}-byte limit`);
  }
  return out;
}

// ---- LZ4 frame decoder (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) ----

const LZ4_MAGIC = 0x184d2204;

function readU32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

/**
 * Decodes one or more concatenated LZ4 frames (skippable frames are skipped), with every read and write bounds
 * checked and the output held to `limit` bytes. Checksums are skipped, not verified (Arrow IPC has none of its own
 * either; a corrupt block is still caught by the bounds checks in most cases).
 */
export function lz4FrameDecode(src: Uint8Array, limit: number): Uint8Array {
  let out = new Uint8Array(Math.min(limit, Math.max(1024, src.length * 4)));
  let op = 0;
  const ensure = (need: number): void => {
    if (need > limit) throw new CodecError(`LZ4 data decompresses to more than the ${limit}-byte limit`);
    if (need <= out.length) return;
    const grown = new Uint8Array(Math.min(limit, Math.max(need, out.length * 2)));
    grown.set(out.subarray(0, op));
    out = grown;
  };
  const truncated = (): never => {
    throw new CodecError('LZ4 frame is truncated');
  };

  let pos = 0;
  if (src.length === 0) throw new CodecError('LZ4 buffer is empty');
  while (pos < src.length) {
    if (pos + 4 > src.length) truncated();
    const magic = readU32(src, pos);
    if (magic >>> 4 === 0x184d2a5) {
      if (pos + 8 > src.length) truncated();
      pos += 8 + readU32(src, pos + 4);
      if (pos > src.length) truncated();
      continue;
    }
    if (magic !== LZ4_MAGIC) throw new CodecError('LZ4 frame has a bad magic number (not LZ4_FRAME data)');
    if (pos + 7 > src.length) truncated();
    const flg = src[pos + 4];
    const bd = src[pos + 5];
    if (flg >> 6 !== 1) throw new CodecError(`LZ4 frame version ${flg >> 6} is not supported`);
    if (flg & 0x01) throw new CodecError('LZ4 frames with a dictionary are not supported');
    const blockChecksum = (flg & 0x10) !== 0;
    const hasContentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const bsId = (bd >> 4) & 7;
    if (bsId < 4) throw new CodecError(`LZ4 frame has an invalid block size id ${bsId}`);
    const maxBlock = 1 << (2 * bsId + 8);
    let hp = pos + 6;
    if (hasContentSize) {
      if (hp + 8 > src.length) truncated();
      const size = readU32(src, hp) + readU32(src, hp + 4) * 2 ** 32;
      if (op + size > limit) {
        throw new CodecError(`LZ4 frame declares ${size} bytes, over the ${limit}-byte decompression limit`);
      }
      ensure(op + size);
      hp += 8;
    }
    hp += 1; // header checksum
    const frameStart = op;
    for (;;) {
      if (hp + 4 > src.length) truncated();
      const word = readU32(src, hp);
      hp += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (size > maxBlock) throw new CodecError(`LZ4 block of ${size} bytes exceeds the frame's ${maxBlock}`);
      if (hp + size > src.length) truncated();
      if (word & 0x80000000) {
        ensure(op + size);
        out.set(src.subarray(hp, hp + size), op);
        op += size;
      } else {
        const blockEnd = Math.min(op + maxBlock, limit);
        ensure(blockEnd);
        op = decodeBlock(
          src,
          hp,
          hp + size,
          out,
          op,
          blockEnd,
          frameStart,
          blockEnd < op + maxBlock ? limit : 0,
        );
      }
      hp += size + (blockChecksum ? 4 : 0);
    }
    if (contentChecksum) hp += 4;
    if (hp > src.length) truncated();
    pos = hp;
  }
  return out.subarray(0, op);
}

function decodeBlock(
  src: Uint8Array,
  ip: number,
  iend: number,
  out: Uint8Array,
  op: number,
  oend: number,
  frameStart: number,
  limit: number,
): number {
  const corrupt = (what: string): never => {
    throw new CodecError(`LZ4 block is corrupt (${what})`);
  };
  const overflow = (): never => {
    if (limit > 0) throw new CodecError(`LZ4 data decompresses to more than the ${limit}-byte limit`);
    return corrupt('output exceeds the block size');
  };
  for (;;) {
    if (ip >= iend) corrupt('ends inside a sequence');
    const token = src[ip++];
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (ip >= iend) corrupt('literal length runs past the block');
        b = src[ip++];
        lit += b;
      } while (b === 255);
    }
    if (ip + lit > iend) corrupt('literals run past the block');
    if (op + lit > oend) overflow();
    if (lit < 32) {
      for (let i = 0; i < lit; i++) out[op + i] = src[ip + i];
    } else {
      out.set(src.subarray(ip, ip + lit), op);
    }
    ip += lit;
    op += lit;
    if (ip === iend) return op;
    if (ip + 2 > iend) corrupt('match offset runs past the block');
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > op - frameStart) corrupt('match offset points before the data');
    let ml = token & 15;
    if (ml === 15) {
      let b: number;
      do {
        if (ip >= iend) corrupt('match length runs past the block');
        b = src[ip++];
        ml += b;
      } while (b === 255);
    }
    ml += 4;
    if (op + ml > oend) overflow();
    let m = op - offset;
    if (offset >= ml && ml >= 32) {
      out.copyWithin(op, m, m + ml);
      op += ml;
    } else {
      const end = op + ml;
      while (op < end) out[op++] = out[m++];
    }
  }
}
