/**
 * The simulator's HTTP face: TEI's axum route table with its framework behaviour (auth, CORS headers, the body
 * limit, JSON extractor rejections as plain text) and its JSON shapes. All semantics live in the engine.
 */
import { isJsonContentType } from '../net/content-type.js';
import type { AnyRequest, AnyResponse, DualServer } from '../net/h1-h2c.js';
import { createH1H2cServer } from '../net/h1-h2c.js';
import { ClientGone, readBody } from '../net/body.js';
import { JsonRejection } from '../codec/serde-json.js';
import { formatF32Array } from '../codec/f32-text.js';
import {
  decodeJson,
  embeddingsJson,
  infoJson,
  predictJson,
  ranksJson,
  similarityJson,
  sparseJson,
  tokenEmbeddingsJson,
  tokensJson,
} from '../codec/tei-response.js';
import {
  decodeDecode,
  decodeEmbed,
  decodeEmbedAll,
  decodeOpenAiEmbed,
  decodePredict,
  decodeRerank,
  decodeSimilarity,
  decodeTokenize,
} from '../codec/tei-json.js';
import { TeiError, teiHttpStatus } from '../tei/errors.js';
import { metadataHeaders } from '../tei/types.js';
import type { CallOptions, SimEngine } from './engine.js';
import type { ResponseMetadata } from '../tei/types.js';
import { ResetFault } from './engine.js';
import type { SimMetrics } from './metrics.js';

interface Reply {
  status?: number;
  body: string;
  meta?: ResponseMetadata;
}

interface RouteContext {
  body: string;
  call: CallOptions;
}

type Handler = (ctx: RouteContext) => Promise<Reply>;

interface Route {
  auth: boolean;
  /** JSON body expected (POST routes). */
  json: boolean;
  openai?: boolean;
  handler: Handler;
}

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  vary: 'origin, access-control-request-method, access-control-request-headers',
};

class HttpReset extends Error {}

type Req = AnyRequest;
type Res = AnyResponse;

/** The simulator's HTTP server: HTTP/1.1 and h2c on one port, like TEI. */
export function createSimHttpServer(engine: SimEngine, metrics: SimMetrics): DualServer {
  return createH1H2cServer(createSimHttpHandler(engine, metrics));
}

function createSimHttpHandler(engine: SimEngine, metrics: SimMetrics): (req: Req, res: Res) => void {
  const o = engine.options;
  const version = o.teiVersion;
  const routes = new Map<string, Route>();
  const add = (method: string, path: string, route: Route) => routes.set(`${method} ${path}`, route);
  const paths = new Set<string>();

  const embed: Handler = async ({ body, call }) => {
    const b = decodeEmbed(body, version);
    const r = await engine.embed(
      {
        items: b.input.items,
        batch: b.input.batch,
        truncate: b.truncate,
        direction: b.truncationDirection,
        promptName: b.promptName,
        normalize: b.normalize,
        dimensions: b.dimensions,
      },
      call,
    );
    return { body: embeddingsJson(r.value), meta: r.meta };
  };

  const embedAll: Handler = async ({ body, call }) => {
    const b = decodeEmbedAll(body, version);
    const r = await engine.embedAll(seqParams(b), call);
    return { body: tokenEmbeddingsJson(r.value), meta: r.meta };
  };

  const embedSparse: Handler = async ({ body, call }) => {
    const b = decodeEmbedAll(body, version, 'EmbedSparseRequest');
    const r = await engine.embedSparse(seqParams(b), call);
    return { body: sparseJson(r.value), meta: r.meta };
  };

  const predict: Handler = async ({ body, call }) => {
    const b = decodePredict(body, version);
    const r = await engine.predict(
      {
        items: b.items,
        batch: b.batch,
        truncate: b.truncate,
        direction: b.truncationDirection,
        rawScores: b.rawScores,
      },
      call,
    );
    return { body: predictJson(r.value, b.batch), meta: r.meta };
  };

  const rerank: Handler = async ({ body, call }) => {
    const b = decodeRerank(body, version);
    const r = await engine.rerank(
      {
        query: b.query,
        texts: b.texts,
        truncate: b.truncate,
        direction: b.truncationDirection,
        rawScores: b.rawScores,
        returnText: b.returnText,
      },
      call,
      false,
    );
    return { body: ranksJson(r.value), meta: r.meta };
  };

  const similarity: Handler = async ({ body, call }) => {
    const b = decodeSimilarity(body, version);
    const r = await engine.similarity(
      b.source,
      b.sentences,
      { truncate: b.truncate, direction: b.truncationDirection, promptName: b.promptName },
      call,
    );
    return { body: similarityJson(r.value), meta: r.meta };
  };

  const tokenize: Handler = async ({ body }) => {
    const b = decodeTokenize(body);
    if (b.batch && b.inputs.length === 0) throw new TeiError('Empty', '`inputs` cannot be empty');
    if (b.inputs.length > o.maxClientBatchSize) {
      throw new TeiError(
        'Validation',
        `batch size ${b.inputs.length} > maximum allowed batch size ${o.maxClientBatchSize}`,
      );
    }
    return { body: tokensJson(engine.tokenize(b.inputs, b.addSpecialTokens, b.promptName)) };
  };

  const decode: Handler = async ({ body }) => {
    const b = decodeDecode(body);
    if (b.ids.length === 0)
      throw new TeiError('Empty', 'Input validation error: `input_ids` cannot be empty');
    if (b.ids.length > o.maxClientBatchSize) {
      throw new TeiError(
        'Validation',
        `batch size ${b.ids.length} > maximum allowed batch size ${o.maxClientBatchSize}`,
      );
    }
    return { body: decodeJson(engine.decode(b.ids, b.skipSpecialTokens)) };
  };

  const openai: Handler = async ({ body, call }) => {
    const b = decodeOpenAiEmbed(body);
    const r = await engine.embed(
      {
        items: b.input.items,
        batch: b.input.batch,
        truncate: null,
        direction: 'Right',
        promptName: null,
        normalize: true,
        dimensions: b.dimensions,
      },
      call,
    );
    const data = r.value.map((v, index) => {
      const embedding =
        b.encodingFormat === 'base64'
          ? JSON.stringify(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'))
          : formatF32Array(v);
      return `{"object":"embedding","embedding":${embedding},"index":${index}}`;
    });
    const model = version === '1.8' ? o.modelId : (o.servedModelName ?? o.modelId);
    const tokens = r.meta.computeTokens;
    return {
      body:
        `{"object":"list","data":[${data.join(',')}],"model":${JSON.stringify(model)},` +
        `"usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}}`,
      meta: r.meta,
    };
  };

  /** SageMaker / Vertex dispatch by model type. */
  const byModelType = (): Handler => {
    if (o.modelType === 'classifier') return predict;
    if (o.modelType === 'reranker') return rerank;
    return o.pooling === 'splade' ? embedSparse : embed;
  };

  const vertex: Handler = async ({ body, call }) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      throw new JsonRejection(400, `Failed to parse the request body as JSON: ${(err as Error).message}`);
    }
    const instances = (parsed as { instances?: unknown })?.instances;
    if (!Array.isArray(instances)) {
      throw new JsonRejection(
        422,
        'Failed to deserialize the JSON body into the target type: missing field `instances`',
      );
    }
    const predictions: string[] = [];
    for (const instance of instances) {
      const text = JSON.stringify(instance);
      const isRerank =
        instance !== null && typeof instance === 'object' && 'query' in instance && 'texts' in instance;
      try {
        const reply = await (isRerank ? rerank : byModelType())({ body: text, call });
        predictions.push(reply.body);
      } catch (err) {
        if (err instanceof JsonRejection) throw new TeiError('Validation', err.message);
        throw err;
      }
    }
    return { body: `{"predictions":[${predictions.join(',')}]}` };
  };

  const info: Handler = async () => ({ body: infoJson(engine.info()) });
  const health: Handler = async () => {
    if (!engine.healthy) throw new TeiError('Unhealthy', 'unhealthy');
    return { body: '' };
  };
  const metricsRoute: Handler = async () => ({ body: await metrics.render() });

  for (const [path, handler] of [
    ['/embed', embed],
    ['/embed_all', embedAll],
    ['/embed_sparse', embedSparse],
    ['/predict', predict],
    ['/rerank', rerank],
    ['/similarity', similarity],
    ['/tokenize', tokenize],
    ['/decode', decode],
    ['/vertex', vertex],
    ['/', byModelType()],
    ['/invocations', byModelType()],
  ] as Array<[string, Handler]>) {
    add('POST', path, { auth: true, json: path !== '/vertex' || true, handler });
  }
  add('POST', '/embeddings', { auth: true, json: true, openai: true, handler: openai });
  add('POST', '/v1/embeddings', { auth: true, json: true, openai: true, handler: openai });
  add('GET', '/info', { auth: true, json: false, handler: info });
  for (const p of ['/health', '/', '/ping']) add('GET', p, { auth: false, json: false, handler: health });
  add('GET', '/metrics', { auth: false, json: false, handler: metricsRoute });
  for (const key of routes.keys()) paths.add(key.slice(key.indexOf(' ') + 1));

  const onRequest = (req: Req, res: Res) => {
    handle(req, res).catch((err) => {
      if (err instanceof HttpReset || err instanceof ResetFault) {
        req.socket.destroy();
        return;
      }
      console.error('tei-router sim: unexpected error', err);
      if (!res.headersSent) send(res, 500, { 'content-type': 'text/plain; charset=utf-8' }, 'Internal error');
      else req.socket.destroy();
    });
  };

  async function handle(req: Req, res: Res): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      req.resume();
      return send(
        res,
        200,
        {
          ...CORS_HEADERS,
          'access-control-allow-methods': 'GET,POST',
          'access-control-allow-headers': 'content-type',
        },
        '',
      );
    }
    const route = routes.get(`${method} ${url.pathname}`);
    if (!route) {
      req.resume();
      if (paths.has(url.pathname)) {
        const allow = [...routes.keys()]
          .filter((k) => k.endsWith(' ' + url.pathname))
          .map((k) => k.split(' ')[0]);
        return send(res, 405, { ...CORS_HEADERS, allow: allow.join(',') }, '');
      }
      return send(res, 404, CORS_HEADERS, '');
    }
    if (route.auth && o.apiKey !== undefined && req.headers.authorization !== `Bearer ${o.apiKey}`) {
      req.resume();
      return send(res, 401, CORS_HEADERS, '');
    }
    let body = '';
    if (route.json) {
      if (!isJsonContentType(req.headers['content-type'])) {
        req.resume();
        return plain(res, 415, 'Expected request with `Content-Type: application/json`');
      }
      const read = await readBody(req, o.payloadLimit).catch((err: unknown) => {
        throw err instanceof ClientGone ? new HttpReset('client aborted') : err;
      });
      if (read === null) {
        if (req.httpVersionMajor === 1) res.setHeader('connection', 'close');
        plain(res, 413, 'Failed to buffer the request body: length limit exceeded');
        req.resume();
        return;
      }
      body = read.toString('utf8');
    } else {
      req.resume();
    }
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new Error('client disconnected'));
    });
    const call: CallOptions = { permits: 'try', signal: abort.signal };
    const started = process.hrtime.bigint();
    try {
      const reply = await route.handler({ body, call });
      const headers: Record<string, string> = { ...CORS_HEADERS };
      if (reply.body !== '' || url.pathname === '/metrics') {
        headers['content-type'] =
          url.pathname === '/metrics' ? 'text/plain; charset=utf-8' : 'application/json';
      }
      if (reply.meta) Object.assign(headers, metadataHeaders(reply.meta));
      if (reply.meta) {
        metrics.used = true;
        metrics.requestSuccess.inc({ method: 'single' });
        metrics.requestDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      }
      send(res, reply.status ?? 200, headers, reply.body);
    } catch (err) {
      if (abort.signal.aborted) return;
      if (err instanceof JsonRejection) return plain(res, err.status, err.message);
      if (err instanceof TeiError) {
        metrics.used = true;
        metrics.requestFailure.inc({ err: failureLabel(err) });
        const status = teiHttpStatus(err.errorType, version);
        const payload = route.openai
          ? { message: err.message, code: status, type: err.errorType }
          : { error: err.message, error_type: err.errorType };
        return send(
          res,
          status,
          { ...CORS_HEADERS, 'content-type': 'application/json' },
          JSON.stringify(payload),
        );
      }
      throw err;
    }
  }

  return onRequest;
}

function failureLabel(err: TeiError): string {
  switch (err.errorType) {
    case 'Overloaded':
      return 'overloaded';
    case 'Tokenizer':
      return 'tokenization';
    case 'Backend':
      return 'inference';
    case 'Validation':
      return err.message.startsWith('batch size') ? 'batch_size' : 'validation';
    default:
      return 'validation';
  }
}

function seqParams(b: ReturnType<typeof decodeEmbedAll>) {
  return {
    items: b.input.items,
    batch: b.input.batch,
    truncate: b.truncate,
    direction: b.truncationDirection,
    promptName: b.promptName,
  };
}

function send(res: Res, status: number, headers: Record<string, string>, body: string): void {
  if (res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function plain(res: Res, status: number, text: string): void {
  send(res, status, { ...CORS_HEADERS, 'content-type': 'text/plain; charset=utf-8' }, text);
}
