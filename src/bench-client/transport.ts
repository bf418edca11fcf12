/** What the load loop of `bench-client` needs from a protocol: build requests, send one, name its failures. */

/** The contents of --ca, --cert and --key (null: not given). */
export interface TlsFiles {
  ca: Buffer | null;
  cert: Buffer | null;
  key: Buffer | null;
}

/** A failure the server answered with (an HTTP status, a gRPC status, a bad body): the connection works. */
export class AnswerError extends Error {
  override name = 'AnswerError';
  constructor(
    /** The errors_by_code key, e.g. "HTTP 503", "UNAVAILABLE", "BAD_RESPONSE". */
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

export interface FailureInfo {
  /** The errors_by_code key. */
  key: string;
  message: string;
  /** The server answered (so the connection itself works). */
  answered: boolean;
}

export interface Transport {
  /** Builds the request for these texts (before the clock starts). */
  prepare(texts: string[]): unknown;
  /** Sends one prepared request of `texts` texts; resolves once the answer is checked, rejects otherwise. */
  send(request: unknown, texts: number): Promise<void>;
  /** The key and message of a failure that is not a recognised connection problem. */
  describe(err: unknown): FailureInfo;
  close(): Promise<void>;
}

/** The first `max` characters of a one-line rendering of `s`. */
export function clip(s: string, max = 300): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}
