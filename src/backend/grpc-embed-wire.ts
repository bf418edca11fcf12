/**
 * Direct codecs for the hot messages of tei.v1.Embed/EmbedStream, without protobufjs objects:
 *
 * - the request body: every EmbedRequest of a batch, each with gRPC's 5-byte length prefix, written into one buffer
 *   (`encodeEmbedStreamBody`; byte for byte what protobufjs wrote for the message grpc-js used to send);
 * - EmbedResponse: the packed `repeated float embeddings = 1` is copied byte for byte into place (one memcpy on
 *   little-endian hosts, aligned or not) instead of becoming a JS number[]. Accepts the unpacked form too (a proto3
 *   rule) and skips unknown fields. `scanEmbedResponse` finds the floats and reads the Metadata without copying;
 *   `copyEmbeddings` copies them to their row of the output.
 *
 *   message EmbedRequest { string inputs = 1; bool truncate = 2; optional bool normalize = 3;
 *                          TruncationDirection truncation_direction = 4; optional string prompt_name = 5;
 *                          optional uint32 dimensions = 6; }
 *   message EmbedResponse { repeated float embeddings = 1; Metadata metadata = 2; }
 *   message Metadata { uint32 compute_chars = 1; uint32 compute_tokens = 2; uint64 total_time_ns = 3;
 *                      uint64 tokenization_time_ns = 4; uint64 queue_time_ns = 5; uint64 inference_time_ns = 6; }
 */
import os from 'node:os';
import type { GrpcMetadataMessage } from './metadata.js';
import type { EmbedBatch } from './types.js';

const LITTLE_ENDIAN = os.endianness() === 'LE';

const METADATA_FIELDS: Record<number, keyof GrpcMetadataMessage> = {
  1: 'compute_chars',
  2: 'compute_tokens',
  3: 'total_time_ns',
  4: 'tokenization_time_ns',
  5: 'queue_time_ns',
  6: 'inference_time_ns',
};

class Cursor {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('EmbedResponse: varint runs past the end');
      const b = this.buf[this.pos++];
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new Error('EmbedResponse: varint longer than 10 bytes');
  }

  /** The end of a length-delimited field's payload (the cursor is at its start). */
  delimited(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.end) throw new Error('EmbedResponse: a field runs past the end');
    return end;
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.delimited();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`EmbedResponse: unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) throw new Error('EmbedResponse: a field runs past the end');
  }
}

/** Copies `count` little-endian f32 at `buf[start]` into `out[at]`. */
function readFloats(buf: Uint8Array, start: number, count: number, out: Float32Array, at: number): void {
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer, out.byteOffset + at * 4, count * 4).set(
      buf.subarray(start, start + count * 4),
    );
    return;
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < count; i++) out[at + i] = view.getFloat32(start + i * 4, true);
}

function decodeMetadata(c: Cursor, end: number): GrpcMetadataMessage {
  const m: GrpcMetadataMessage = {};
  const inner = new Cursor(c.buf, c.pos, end);
  while (inner.pos < end) {
    const tag = inner.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    const key = METADATA_FIELDS[field];
    if (key && wire === 0) m[key] = inner.varint();
    else inner.skip(wire);
  }
  c.pos = end;
  return m;
}

/** Where an EmbedResponse's floats are in its bytes, and its Metadata. */
export interface EmbedResponseScan {
  /** [start, count] of each run of floats, in order (one packed run in practice). */
  runs: Array<[number, number]>;
  /** Number of floats in all runs. */
  total: number;
  metadata: GrpcMetadataMessage | undefined;
}

/** Reads the EmbedResponse in `buf[start, end)` without copying its floats. */
export function scanEmbedResponse(buf: Uint8Array, start = 0, end = buf.length): EmbedResponseScan {
  const c = new Cursor(buf, start, end);
  const runs: Array<[number, number]> = [];
  let total = 0;
  let metadata: GrpcMetadataMessage | undefined;
  while (c.pos < c.end) {
    const tag = c.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 1 && wire === 2) {
      const runEnd = c.delimited();
      const bytes = runEnd - c.pos;
      if (bytes % 4 !== 0) throw new Error('EmbedResponse: packed floats are not a multiple of 4 bytes');
      runs.push([c.pos, bytes / 4]);
      total += bytes / 4;
      c.pos = runEnd;
    } else if (field === 1 && wire === 5) {
      if (c.pos + 4 > c.end) throw new Error('EmbedResponse: a float runs past the end');
      runs.push([c.pos, 1]);
      total += 1;
      c.pos += 4;
    } else if (field === 2 && wire === 2) {
      const mEnd = c.delimited();
      metadata = decodeMetadata(c, mEnd);
    } else {
      c.skip(wire);
    }
  }
  return { runs, total, metadata };
}

/** Copies the floats of a scanned EmbedResponse into `out` from `at`. */
export function copyEmbeddings(
  buf: Uint8Array,
  scan: EmbedResponseScan,
  out: Float32Array,
  at: number,
): void {
  for (const [start, count] of scan.runs) {
    readFloats(buf, start, count, out, at);
    at += count;
  }
}

// ---- EmbedRequest ----

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

/** Bytes of field 1 (`inputs`) holding `n` bytes of UTF-8. */
function inputsSize(n: number): number {
  return 1 + varintSize(n) + n;
}

/**
 * Fields 2-6 of every EmbedRequest of `batch`, in field order, as protobufjs wrote them for grpc-js: truncate,
 * normalize and truncation_direction always, even at their default (normalize must be: TEI < 1.9 reads an unset value
 * as false); prompt_name and dimensions when set.
 */
function embedRequestTail(batch: EmbedBatch): Buffer {
  const parts = [
    0x10,
    batch.truncate ? 1 : 0,
    0x18,
    batch.normalize ? 1 : 0,
    0x20,
    batch.direction === 'Left' ? 1 : 0,
  ];
  const head = Buffer.from(parts);
  const pieces = [head];
  if (batch.promptName !== null) {
    const name = Buffer.from(batch.promptName, 'utf8');
    const len = Buffer.alloc(varintSize(name.length));
    writeVarint(len, 0, name.length);
    pieces.push(Buffer.from([0x2a]), len, name);
  }
  if (batch.dimensions !== null) {
    const dims = Buffer.alloc(1 + varintSize(batch.dimensions));
    dims[0] = 0x30;
    writeVarint(dims, 1, batch.dimensions);
    pieces.push(dims);
  }
  return Buffer.concat(pieces);
}

/**
 * The body of one EmbedStream call: one length-prefixed EmbedRequest per text of `batch` (gRPC framing: a 0 byte for
 * "not compressed", the message length as a big-endian uint32, the message), in one buffer. Texts are written as
 * UTF-8 (a lone surrogate as U+FFFD, as every encoder on the way to TEI would).
 */
export function encodeEmbedStreamBody(batch: EmbedBatch): Buffer {
  const tail = embedRequestTail(batch);
  const lengths = new Int32Array(batch.texts.length);
  let size = 0;
  for (let i = 0; i < batch.texts.length; i++) {
    const n = Buffer.byteLength(batch.texts[i], 'utf8');
    lengths[i] = n;
    size += 5 + inputsSize(n) + tail.length;
  }
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (let i = 0; i < batch.texts.length; i++) {
    const n = lengths[i];
    out[pos] = 0;
    out.writeUInt32BE(inputsSize(n) + tail.length, pos + 1);
    pos += 5;
    out[pos++] = 0x0a;
    pos = writeVarint(out, pos, n);
    pos += out.write(batch.texts[i], pos, n, 'utf8');
    pos += tail.copy(out, pos);
  }
  return out;
}
