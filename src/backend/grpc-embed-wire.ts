/**
 * A direct decoder for tei.v1.EmbedResponse, the hot message: the packed `repeated float embeddings = 1` is copied
 * byte for byte into a Float32Array (one memcpy on little-endian hosts) instead of becoming a JS number[] through
 * protobufjs. Accepts the unpacked form too (a proto3 rule) and skips unknown fields.
 *
 *   message EmbedResponse { repeated float embeddings = 1; Metadata metadata = 2; }
 *   message Metadata { uint32 compute_chars = 1; uint32 compute_tokens = 2; uint64 total_time_ns = 3;
 *                      uint64 tokenization_time_ns = 4; uint64 queue_time_ns = 5; uint64 inference_time_ns = 6; }
 */
import os from 'node:os';
import type { GrpcMetadataMessage } from './metadata.js';

export interface EmbedResponseMessage {
  embeddings: Float32Array;
  metadata: GrpcMetadataMessage | undefined;
}

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

export function decodeEmbedResponse(buf: Buffer): EmbedResponseMessage {
  const c = new Cursor(buf, 0, buf.length);
  /** [start, count] of each float run, in order (one packed run in practice). */
  const runs: Array<[number, number]> = [];
  let total = 0;
  let metadata: GrpcMetadataMessage | undefined;
  while (c.pos < c.end) {
    const tag = c.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 1 && wire === 2) {
      const end = c.delimited();
      const bytes = end - c.pos;
      if (bytes % 4 !== 0) throw new Error('EmbedResponse: packed floats are not a multiple of 4 bytes');
      runs.push([c.pos, bytes / 4]);
      total += bytes / 4;
      c.pos = end;
    } else if (field === 1 && wire === 5) {
      if (c.pos + 4 > c.end) throw new Error('EmbedResponse: a float runs past the end');
      runs.push([c.pos, 1]);
      total += 1;
      c.pos += 4;
    } else if (field === 2 && wire === 2) {
      const end = c.delimited();
      metadata = decodeMetadata(c, end);
    } else {
      c.skip(wire);
    }
  }
  const embeddings = new Float32Array(total);
  let at = 0;
  for (const [start, count] of runs) {
    readFloats(buf, start, count, embeddings, at);
    at += count;
  }
  return { embeddings, metadata };
}
