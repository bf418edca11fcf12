/**
 * What crossing a thread boundary copies: the bytes of the structured clone that postMessage (and so Piscina) writes
 * for a value. V8's serializer is the same one postMessage uses; a SharedArrayBuffer goes by reference (an id) and a
 * transferred ArrayBuffer by handle, so neither adds its contents. What is left is what is really copied.
 */
import v8 from 'node:v8';

class CountingSerializer extends v8.Serializer {
  private readonly shared: SharedArrayBuffer[] = [];

  _getSharedArrayBufferId(sab: SharedArrayBuffer): number {
    const known = this.shared.indexOf(sab);
    if (known >= 0) return known;
    this.shared.push(sab);
    return this.shared.length - 1;
  }
}

/** Bytes of the structured clone of `value` posted with `transfer` (the transferred buffers' contents excluded). */
export function cloneBytes(value: unknown, transfer: readonly ArrayBuffer[] = []): number {
  const s = new CountingSerializer();
  transfer.forEach((buffer, id) => s.transferArrayBuffer(id, buffer));
  s.writeHeader();
  s.writeValue(value);
  return s.releaseBuffer().length;
}
