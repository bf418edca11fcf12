import { createRequire } from "node:module"; const require = createRequire(import.meta.url);
import { startSim, startRouter } from './e2e/procs.js';
import { grpcCaller } from './e2e/load.js';
import { encodeTextBatch } from '../src/bench-client/arrow-batch.js';
import { generateTexts } from '../src/bench-client/text-gen.js';
const proto = (process.argv[2] ?? 'grpc') as 'grpc' | 'http';
const n = Number(process.argv[3] ?? 20);
const texts = generateTexts(4096, { seed: 7, meanTokens: 16, maxTokens: 64 });
const batches = Array.from({ length: 4 }, (_, b) => encodeTextBatch(texts.slice(b * 1000, b * 1000 + 1000), true));
const sim = await startSim({ protocol: proto, modelId: 'm', dim: 768 });
const router = await startRouter([{ name: 'bulk', backends: [sim.url] }], {
  nodeArgs: process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [],
  env: process.env.JS ? { TEI_ROUTER_NATIVE: '0' } : {},
});
const c = grpcCaller('tei_multiplexer.v1.TeiMultiplexer', 'EmbedArrow', `127.0.0.1:${router.ports.grpc}`);
const cpu = () => { const s = require('node:fs').readFileSync(`/proc/${router.pid}/stat`, 'utf8').split(') ')[1].split(' '); return [Number(s[11]) * 10, Number(s[12]) * 10]; };
const call = (i: number) => c.call({ target: { model_id: 'bulk' }, arrow_ipc: batches[i % 4], normalize: true, truncate: true });
for (let i = 0; i < 3; i++) await call(i);
const c0 = cpu(); const t0 = performance.now();
for (let i = 0; i < n; i++) await call(i);
const c1 = cpu(); const ms = c1[0] + c1[1] - c0[0] - c0[1];
console.log(`${proto} ${process.env.JS ? 'js' : 'native'}: ${n} reqs, wall ${(performance.now() - t0).toFixed(0)} ms, router cpu ${ms} ms => ${(ms * 1000 / (n * 1000)).toFixed(1)} us/embedding (user ${c1[0]-c0[0]} ms, sys ${c1[1]-c0[1]} ms)`);
c.close();
await router.stop(); await sim.stop();
