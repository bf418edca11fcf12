/**
 * A bounds check of Arrow IPC framing and message metadata, run before apache-arrow sees untrusted bytes.
 *
 * apache-arrow trusts the flatbuffer metadata: a corrupted vector length (for example the number of field nodes
 * of a record batch) makes it build an array of that many objects, which exhausts the JS heap and kills the
 * process instead of throwing. This walks every message of the stream (for the IPC file format: the footer and
 * every block it lists) and checks each flatbuffer table, vector and string that apache-arrow will read against
 * the bytes actually there, with the nesting depth and the number of
 * schema fields bounded. It decodes nothing for use: it returns or throws IpcGuardError.
 */

export class IpcGuardError extends Error {
  override name = 'IpcGuardError';
}

const MAX_DEPTH = 64;
const MAX_FIELDS = 10_000;
const MAX_ROWS = 0x7fffffff;

const enum Header {
  Schema = 1,
  DictionaryBatch = 2,
  RecordBatch = 3,
}

class Fb {
  fields = 0;
  private readonly dv: DataView;
  constructor(readonly buf: Uint8Array) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(pos: number, size: number): void {
    if (!(pos >= 0 && pos + size <= this.buf.length)) {
      throw new IpcGuardError('message metadata points outside itself (corrupt flatbuffer)');
    }
  }
  u16(p: number): number {
    this.need(p, 2);
    return this.dv.getUint16(p, true);
  }
  i32(p: number): number {
    this.need(p, 4);
    return this.dv.getInt32(p, true);
  }
  /** A signed 64-bit value as a number, or Infinity when it does not fit 2^53. */
  i64(p: number): number {
    this.need(p, 8);
    const lo = this.dv.getUint32(p, true);
    const hi = this.dv.getInt32(p + 4, true);
    if (hi < -0x200000 || hi >= 0x200000) return hi < 0 ? -Infinity : Infinity;
    return hi * 2 ** 32 + lo;
  }
  root(): number {
    return this.deref(0);
  }
  deref(p: number): number {
    const target = p + this.dv.getUint32((this.need(p, 4), p), true);
    this.need(target, 1);
    return target;
  }
  /** Position of field `i` of the table at `t`, or 0 when absent. */
  field(t: number, i: number): number {
    const vt = t - this.i32(t);
    const vtSize = this.u16(vt);
    if (vtSize < 4) throw new IpcGuardError('message metadata has a corrupt vtable');
    const slot = 4 + 2 * i;
    if (slot + 2 > vtSize) return 0;
    const off = this.u16(vt + slot);
    if (off === 0) return 0;
    this.need(t + off, 1);
    return t + off;
  }
  table(t: number, i: number): number {
    const p = this.field(t, i);
    return p === 0 ? 0 : this.deref(p);
  }
  /** Checks a vector (or string) of `elemSize`-byte elements; returns [start, length]. */
  vector(t: number, i: number, elemSize: number): [number, number] {
    const p = this.field(t, i);
    if (p === 0) return [0, 0];
    const v = this.deref(p);
    const len = this.dv.getUint32((this.need(v, 4), v), true);
    if (len * elemSize > this.buf.length - v - 4) {
      throw new IpcGuardError(`message metadata declares a vector of ${len} entries that is not there`);
    }
    return [v + 4, len];
  }
  tables(t: number, i: number): number[] {
    const [start, len] = this.vector(t, i, 4);
    const out: number[] = [];
    for (let k = 0; k < len; k++) out.push(this.deref(start + 4 * k));
    return out;
  }
}

function checkKeyValues(fb: Fb, t: number, i: number): void {
  for (const kv of fb.tables(t, i)) {
    fb.vector(kv, 0, 1);
    fb.vector(kv, 1, 1);
  }
}

function checkField(fb: Fb, f: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new IpcGuardError(`schema nests deeper than ${MAX_DEPTH} levels`);
  if (++fb.fields > MAX_FIELDS) throw new IpcGuardError(`schema has more than ${MAX_FIELDS} fields`);
  fb.vector(f, 0, 1); // name
  const typeType = fb.field(f, 2) ? fb.buf[fb.field(f, 2)] : 0;
  const type = fb.table(f, 3);
  if (type && typeType === 14) fb.vector(type, 1, 4); // Union typeIds
  const dict = fb.table(f, 4);
  if (dict) fb.table(dict, 1);
  for (const child of fb.tables(f, 5)) checkField(fb, child, depth + 1);
  checkKeyValues(fb, f, 6);
}

function checkRecordBatch(fb: Fb, rb: number): void {
  const lenPos = fb.field(rb, 0);
  const length = lenPos ? fb.i64(lenPos) : 0;
  if (!(length >= 0 && length <= MAX_ROWS)) throw new IpcGuardError(`record batch declares ${length} rows`);
  const [nodes, nodeCount] = fb.vector(rb, 1, 16);
  for (let k = 0; k < nodeCount; k++) {
    const n = fb.i64(nodes + 16 * k);
    const nulls = fb.i64(nodes + 16 * k + 8);
    if (!(n >= 0 && n <= MAX_ROWS && nulls >= 0 && nulls <= n)) {
      throw new IpcGuardError(`record batch declares a column of ${n} rows with ${nulls} nulls`);
    }
  }
  const [buffers, bufferCount] = fb.vector(rb, 2, 16);
  for (let k = 0; k < bufferCount; k++) {
    const off = fb.i64(buffers + 16 * k);
    const len = fb.i64(buffers + 16 * k + 8);
    if (!(off >= 0 && len >= 0 && off + len <= Number.MAX_SAFE_INTEGER)) {
      throw new IpcGuardError('record batch declares a buffer with a negative or huge offset or length');
    }
  }
  fb.table(rb, 3); // compression
  fb.vector(rb, 4, 8); // variadicBufferCounts
}

/** Returns the header type and body length of the message whose metadata is `meta`. */
function checkMessage(meta: Uint8Array): { headerType: number; bodyLength: number } {
  const fb = new Fb(meta);
  const m = fb.root();
  const typePos = fb.field(m, 1);
  const headerType = typePos ? meta[typePos] : 0;
  const header = fb.table(m, 2);
  const bodyPos = fb.field(m, 3);
  const bodyLength = bodyPos ? fb.i64(bodyPos) : 0;
  if (!(bodyLength >= 0 && bodyLength <= Number.MAX_SAFE_INTEGER)) {
    throw new IpcGuardError(`message declares a body of ${bodyLength} bytes`);
  }
  checkKeyValues(fb, m, 4);
  if (header) {
    if (headerType === Header.Schema) {
      for (const f of fb.tables(header, 1)) checkField(fb, f, 0);
      checkKeyValues(fb, header, 2);
      fb.vector(header, 3, 8);
    } else if (headerType === Header.RecordBatch) {
      checkRecordBatch(fb, header);
    } else if (headerType === Header.DictionaryBatch) {
      const data = fb.table(header, 1);
      if (data) checkRecordBatch(fb, data);
    }
  }
  return { headerType, bodyLength };
}

const FILE_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"

function hasMagicAt(b: Uint8Array, pos: number): boolean {
  return pos >= 0 && pos + 6 <= b.length && FILE_MAGIC.every((m, i) => b[pos + i] === m);
}

/** Checks the message framed at `pos`; returns its header type and the position after its body (0 at EOS). */
function checkFramedMessage(
  bytes: Uint8Array,
  dv: DataView,
  pos: number,
): { headerType: number; end: number } {
  if (pos + 4 > bytes.length) throw new IpcGuardError('stream is truncated inside a message header');
  let metaLen = dv.getInt32(pos, true);
  let metaStart = pos + 4;
  if (metaLen === -1) {
    if (pos + 8 > bytes.length) throw new IpcGuardError('stream is truncated inside a message header');
    metaLen = dv.getInt32(pos + 4, true);
    metaStart = pos + 8;
  }
  if (metaLen === 0) return { headerType: 0, end: 0 }; // end-of-stream marker
  if (metaLen < 0 || metaStart + metaLen > bytes.length) {
    throw new IpcGuardError(`stream is truncated: a message declares ${metaLen} metadata bytes`);
  }
  const { headerType, bodyLength } = checkMessage(bytes.subarray(metaStart, metaStart + metaLen));
  const end = metaStart + metaLen + bodyLength;
  if (end > bytes.length) throw new IpcGuardError('stream is truncated inside a message body');
  return { headerType, end };
}

/** IPC file: the footer (schema and block lists) and every message a block points at. */
function guardFile(ipc: Uint8Array, dv: DataView): number {
  const footerLen = dv.getInt32(ipc.length - 10, true);
  const footerStart = ipc.length - 10 - footerLen;
  if (footerLen <= 0 || footerStart < 8) throw new IpcGuardError('file footer is missing or truncated');
  const fb = new Fb(ipc.subarray(footerStart, footerStart + footerLen));
  const footer = fb.root();
  const schema = fb.table(footer, 1);
  if (!schema) throw new IpcGuardError('file footer has no schema');
  for (const f of fb.tables(schema, 1)) checkField(fb, f, 0);
  checkKeyValues(fb, schema, 2);
  fb.vector(schema, 3, 8);
  checkKeyValues(fb, footer, 4);
  let recordBatches = 0;
  for (const slot of [2, 3]) {
    const [start, count] = fb.vector(footer, slot, 24);
    for (let k = 0; k < count; k++) {
      const offset = fb.i64(start + 24 * k);
      if (!(offset >= 8 && offset < footerStart))
        throw new IpcGuardError('file footer points outside the file');
      const { headerType } = checkFramedMessage(ipc, dv, offset);
      if (headerType !== (slot === 2 ? Header.DictionaryBatch : Header.RecordBatch)) {
        throw new IpcGuardError('file footer points at a message of the wrong kind');
      }
      if (slot === 3) recordBatches++;
    }
  }
  return recordBatches;
}

/**
 * Checks every message of an IPC stream, or the footer and every block of an IPC file, and returns how many
 * record batch messages the reader will find. Throws IpcGuardError.
 */
export function guardArrowIpc(ipc: Uint8Array): { recordBatches: number } {
  const dv = new DataView(ipc.buffer, ipc.byteOffset, ipc.byteLength);
  if (hasMagicAt(ipc, 0)) {
    if (ipc.length < 18 || !hasMagicAt(ipc, ipc.length - 6)) throw new IpcGuardError('IPC file is truncated');
    return { recordBatches: guardFile(ipc, dv) };
  }
  let pos = 0;
  let recordBatches = 0;
  while (pos + 4 <= ipc.length) {
    const { headerType, end } = checkFramedMessage(ipc, dv, pos);
    if (end === 0) break;
    if (headerType === Header.RecordBatch) recordBatches++;
    pos = end;
  }
  return { recordBatches };
}
