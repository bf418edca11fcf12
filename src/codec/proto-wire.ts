/**
 * A structural check of protobuf wire format: every tag, varint and length stays inside the buffer. protobufjs
 * decodes some malformed frames (a length running past the end) without complaint; TEI's decoder (prost)
 * rejects them, and so do we.
 */

export class WireFormatError extends Error {
  constructor(message: string) {
    super(`invalid protobuf wire format: ${message}`);
    this.name = 'WireFormatError';
  }
}

function readVarint(buf: Uint8Array, pos: number, end: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new WireFormatError(`varint runs past the end at byte ${pos}`);
    const b = buf[pos++];
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new WireFormatError(`varint longer than 10 bytes at byte ${pos}`);
}

/** Throws WireFormatError unless `buf[start, end)` is a sequence of well-formed fields. */
export function checkWireFormat(buf: Uint8Array, start = 0, end = buf.length): void {
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = readVarint(buf, pos, end);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new WireFormatError(`field number 0 at byte ${pos}`);
    pos = afterTag;
    switch (wire) {
      case 0:
        pos = readVarint(buf, pos, end)[1];
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const [len, next] = readVarint(buf, pos, end);
        pos = next + len;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new WireFormatError(`unsupported wire type ${wire} for field ${field}`);
    }
    if (pos > end) throw new WireFormatError(`field ${field} runs past the end of the message`);
  }
}
