/**
 * The gRPC modes of `bench-client`, over one grpc-js channel to tei_multiplexer.v1.TeiMultiplexer:
 * - standard: unary Embed per text, truncate = true, normalize = true (as tei-manager's bench-client);
 * - arrow: EmbedArrow with an Arrow IPC batch of texts, truncate = normalize = true, noop as asked; the answer
 *   must decode and hold one row per text;
 * - stream: one EmbedStream call per batch, one EmbedRequest per text; one answer per text must come back.
 * TLS by the endpoint's scheme, with --ca / --cert / --key; --insecure makes the name checked against the server
 * certificate (and the :authority) `localhost`, as tei-manager's flag does; it does not skip verification.
 */
import * as grpc from '@grpc/grpc-js';
import { clientConstructor } from '../proto/load.js';
import { encodeTextBatch, readArrowAnswer } from './arrow-batch.js';
import { isGrpcTransportFailure } from './tls-errors.js';
import type { BenchSettings } from './settings.js';
import { AnswerError, clip } from './transport.js';
import type { FailureInfo, TlsFiles, Transport } from './transport.js';

type Target = { instance_name: string } | { model_id: string };

type Callback<T> = (err: grpc.ServiceError | null, res?: T) => void;

interface MultiplexerClient extends grpc.Client {
  Embed(
    req: unknown,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: Callback<{ embeddings?: number[] }>,
  ): void;
  EmbedArrow(
    req: unknown,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: Callback<{ arrow_ipc?: Uint8Array }>,
  ): void;
  EmbedStream(md: grpc.Metadata, opts: grpc.CallOptions): grpc.ClientDuplexStream<unknown, unknown>;
}

/** The channel credentials and options for the settings. */
export function grpcChannel(
  s: BenchSettings,
  files: TlsFiles,
): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  const bytes = s.maxMessageSizeMb * 1024 * 1024;
  const options: grpc.ChannelOptions = {
    'grpc.max_send_message_length': bytes,
    'grpc.max_receive_message_length': bytes,
  };
  if (!s.endpoint.tls) return { credentials: grpc.credentials.createInsecure(), options };
  if (s.insecure) {
    options['grpc.ssl_target_name_override'] = 'localhost';
    options['grpc.default_authority'] = 'localhost';
  }
  return { credentials: grpc.credentials.createSsl(files.ca, files.key, files.cert), options };
}

function statusName(code: number): string {
  return (grpc.status as unknown as Record<number, string>)[code] ?? `gRPC ${code}`;
}

export class GrpcTransport implements Transport {
  private readonly client: MultiplexerClient;
  private readonly target: Target;

  constructor(
    private readonly s: BenchSettings,
    files: TlsFiles,
  ) {
    const Ctor = clientConstructor('tei_multiplexer.v1.TeiMultiplexer');
    const { credentials, options } = grpcChannel(s, files);
    this.client = new Ctor(s.endpoint.authority, credentials, options) as unknown as MultiplexerClient;
    this.target = s.instance ? { instance_name: s.instance } : { model_id: s.model! };
  }

  private embedRequest(text: string) {
    return { target: this.target, request: { inputs: text, truncate: true, normalize: true } };
  }

  prepare(texts: string[]): unknown {
    switch (this.s.mode) {
      case 'standard':
        return this.embedRequest(texts[0]);
      case 'arrow':
        return {
          target: this.target,
          arrow_ipc: Buffer.from(encodeTextBatch(texts, this.s.compression)),
          truncate: true,
          normalize: true,
          noop: this.s.noop,
        };
      default:
        return texts.map((t) => this.embedRequest(t));
    }
  }

  private options(): grpc.CallOptions {
    return { deadline: Date.now() + this.s.timeoutS * 1000 };
  }

  send(request: unknown, texts: number): Promise<void> {
    switch (this.s.mode) {
      case 'standard':
        return new Promise((resolve, reject) =>
          this.client.Embed(request, new grpc.Metadata(), this.options(), (err, res) => {
            if (err) return reject(err);
            if (!res?.embeddings?.length) {
              return reject(new AnswerError('BAD_RESPONSE', 'Embed answered without embeddings'));
            }
            resolve();
          }),
        );
      case 'arrow':
        return new Promise((resolve, reject) =>
          this.client.EmbedArrow(request, new grpc.Metadata(), this.options(), (err, res) => {
            if (err) return reject(err);
            let rows: number;
            let columns: string[];
            try {
              ({ rows, columns } = readArrowAnswer(res?.arrow_ipc ?? new Uint8Array(0)));
            } catch (e) {
              const why = e instanceof Error ? e.message : String(e);
              return reject(new AnswerError('BAD_RESPONSE', `EmbedArrow answer is not Arrow IPC: ${why}`));
            }
            if (rows !== texts) {
              return reject(
                new AnswerError(
                  'BAD_RESPONSE',
                  `EmbedArrow answered ${rows} rows for ${texts} texts (columns: ${columns.join(', ') || 'none'})`,
                ),
              );
            }
            resolve();
          }),
        );
      default:
        return this.stream(request as unknown[], texts);
    }
  }

  private stream(requests: unknown[], texts: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const call = this.client.EmbedStream(new grpc.Metadata(), this.options());
      let answers = 0;
      let empty = 0;
      call.on('data', (m: { embeddings?: number[] }) => {
        answers++;
        if (!m.embeddings?.length) empty++;
      });
      call.on('error', reject);
      call.on('end', () => {
        if (answers !== texts) {
          reject(new AnswerError('BAD_RESPONSE', `EmbedStream answered ${answers} of ${texts} requests`));
        } else if (empty > 0) {
          reject(
            new AnswerError('BAD_RESPONSE', `EmbedStream answered ${empty} responses without embeddings`),
          );
        } else {
          resolve();
        }
      });
      for (const r of requests) call.write(r);
      call.end();
    });
  }

  describe(err: unknown): FailureInfo {
    if (err instanceof AnswerError) return { key: err.key, message: err.message, answered: true };
    const e = err as Partial<grpc.ServiceError>;
    if (typeof e?.code === 'number') {
      const routerCode = e.metadata?.get('x-tei-router-error')[0];
      return {
        key: statusName(e.code),
        message: clip(`${e.details ?? e.message ?? ''}${routerCode ? ` [${String(routerCode)}]` : ''}`),
        answered: !isGrpcTransportFailure(err),
      };
    }
    const message = err instanceof Error ? err.message : String(err);
    return { key: (err as { code?: string })?.code ?? 'ERROR', message: clip(message), answered: false };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
