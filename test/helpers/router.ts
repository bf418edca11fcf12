/** Test helpers: a router on free loopback ports in front of the given backends. */
import { startApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { KeyValue, ModelConfig } from '../../src/config.js';
import { tokenizerFixture } from './sim.js';

/** A model entry named `name` (default 'mini') with the fixture tokenizer. */
export function routerModel(backends: string[], extra: Partial<ModelConfig> = {}): ModelConfig {
  return {
    name: 'mini',
    aliases: [],
    tokenizer: tokenizerFixture(),
    backends,
    coalesceMs: undefined,
    maxBatchTokens: undefined,
    maxClientBatchSize: undefined,
    maxQueuedTokens: undefined,
    balancing: undefined,
    ...extra,
  };
}

/** Starts the router (every listener on port 0, one worker thread); the first model is the default. */
export async function startRouter(
  models: ModelConfig[],
  flags: Record<string, KeyValue> = {},
  log: (line: string) => void = () => {},
): Promise<{ app: App; base: string }> {
  const config = loadConfig({
    flags: { 'http.port': 0, 'grpc.port': 0, 'admin.port': 0, 'pool.threads': 1, ...flags },
  });
  config.models = models;
  config.defaultModel = models[0].name;
  const app = await startApp(config, { log });
  return { app, base: `http://127.0.0.1:${app.ports.http}` };
}
