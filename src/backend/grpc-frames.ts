/**
 * gRPC's length-prefixed message framing, read from the body of an HTTP/2 gRPC call as its DATA chunks arrive: each
 * message is a compressed-flag byte, its length as a big-endian uint32, then its bytes. A message that lies inside
 * one chunk is handed over in place (no copy); only one cut by a chunk boundary is assembled first.
 */

/** Receives one whole message: `buf[start, end)`, valid only during the call. */
export type OnMessage = (buf: Uint8Array, start: number, end: number) => void;

export class GrpcFrameReader {
  private readonly header = new Uint8Array(5);
  private headerHave = 0;
  /** The message being assembled across chunks, and how much of it has arrived. */
  private partial: Uint8Array | null = null;
  private partialHave = 0;
  /** Bytes of messages read so far. */
  bytes = 0;

  /**
   * @param maxBytes bound on the bytes of all messages together.
   * @param maxMessageBytes bound on one message: a 5-byte header cannot make the reader allocate more.
   */
  constructor(
    private readonly onMessage: OnMessage,
    private readonly maxBytes: number,
    private readonly maxMessageBytes = maxBytes,
  ) {}

  /** Consumes one chunk; throws (and must not be fed again) on a compressed or oversized message. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.partial !== null) {
        const n = Math.min(this.partial.length - this.partialHave, chunk.length - pos);
        this.partial.set(chunk.subarray(pos, pos + n), this.partialHave);
        this.partialHave += n;
        pos += n;
        if (this.partialHave === this.partial.length) {
          const whole = this.partial;
          this.partial = null;
          this.onMessage(whole, 0, whole.length);
        }
        continue;
      }
      let length: number;
      if (this.headerHave === 0 && chunk.length - pos >= 5) {
        length = this.messageLength(chunk, pos);
        pos += 5;
        if (chunk.length - pos >= length) {
          this.onMessage(chunk, pos, pos + length);
          pos += length;
          continue;
        }
      } else {
        const n = Math.min(5 - this.headerHave, chunk.length - pos);
        this.header.set(chunk.subarray(pos, pos + n), this.headerHave);
        this.headerHave += n;
        pos += n;
        if (this.headerHave < 5) continue;
        this.headerHave = 0;
        length = this.messageLength(this.header, 0);
      }
      if (length === 0) {
        this.onMessage(chunk, pos, pos);
        continue;
      }
      this.partial = new Uint8Array(length);
      this.partialHave = 0;
    }
  }

  /** Throws when the body ended inside a message. */
  end(): void {
    if (this.headerHave > 0 || this.partial !== null) {
      throw new Error('the gRPC response body ended inside a message');
    }
  }

  private messageLength(buf: Uint8Array, at: number): number {
    if (buf[at] !== 0) {
      throw new Error(
        buf[at] === 1
          ? 'the backend sent a compressed gRPC message, but no grpc-encoding was negotiated'
          : `bad gRPC message flag ${buf[at]}`,
      );
    }
    const length = ((buf[at + 1] << 24) >>> 0) + (buf[at + 2] << 16) + (buf[at + 3] << 8) + buf[at + 4];
    if (length > this.maxMessageBytes) {
      throw new Error(`a gRPC message of ${length} bytes is over the ${this.maxMessageBytes}-byte limit`);
    }
    this.bytes += length;
    if (this.bytes > this.maxBytes) {
      throw new Error(`the gRPC response is over ${this.maxBytes} bytes`);
    }
    return length;
  }
}
