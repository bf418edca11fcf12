/** `tei-router sim`: start and stop a simulated TEI server (HTTP or gRPC, like a TEI build). */
import type { AddressInfo } from 'node:net';
import type net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { loadTokenizer } from '../tokenizer/load.js';
import { SimEngine } from './engine.js';
import { createSimGrpcServer } from './grpc.js';
import { createSimHttpServer } from './http.js';
import { SimMetrics } from './metrics.js';
import type { SimOptions } from './options.js';
import { resolveSimOptions } from './options.js';

export interface RunningSim {
  readonly options: SimOptions;
  readonly engine: SimEngine;
  readonly metrics: SimMetrics;
  readonly port: number;
  /** `http://host:port` or `grpc://host:port`. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startSim(partial: Partial<SimOptions> = {}): Promise<RunningSim> {
  const options = resolveSimOptions(partial);
  const tokenizer = loadTokenizer(options.tokenizer);
  const engine = new SimEngine(options, tokenizer);
  const metrics = new SimMetrics(options.maxInputLength);
  engine.onBatch((b) => {
    metrics.used = true;
    metrics.batchSize.observe(b.size);
    metrics.batchTokens.observe(b.tokens);
  });
  if (options.loadingMs > 0) await new Promise((r) => setTimeout(r, options.loadingMs));
  const host = options.hostname.includes(':') ? `[${options.hostname}]` : options.hostname;
  if (options.protocol === 'grpc') {
    const { server } = createSimGrpcServer(engine);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    return {
      options,
      engine,
      metrics,
      port,
      url: `grpc://${host}:${port}`,
      close: () =>
        new Promise<void>((resolve) => {
          engine.close();
          server.forceShutdown();
          resolve();
        }),
    };
  }
  const { server, destroyConnections } = createSimHttpServer(engine, metrics);
  await listen(server, options.hostname, options.port);
  const port = (server.address() as AddressInfo).port;
  return {
    options,
    engine,
    metrics,
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        engine.close();
        server.close(() => resolve());
        destroyConnections();
      }),
  };
}

function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
