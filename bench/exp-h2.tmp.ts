import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { startSim } from './e2e/procs.js';
import { GrpcBackend } from '../src/backend/grpc.js';
import { generateTexts } from '../src/bench-client/text-gen.js';
const texts = generateTexts(1000, { seed: 7, meanTokens: 16, maxTokens: 64 });
const sim = await startSim({ protocol: 'grpc', modelId: 'm', dim: 768 });
const be = new GrpcBackend(new URL(sim.url), { timeoutMs: 30000 });
const batch = { texts, truncate: true, direction: 'Right' as const, normalize: true, dimensions: null, promptName: null };
const cpu = () => { const u = process.cpuUsage(); return process.env.SYS ? u.system / 1000 : (u.user + u.system) / 1000; };
for (let i = 0; i < 3; i++) await be.embed(batch);
let c0 = cpu();
for (let i = 0; i < 20; i++) await be.embed(batch);
console.log('grpc-js per request ms cpu', (cpu() - c0) / 20);
// raw
const enc = new TextEncoder();
function frames(): Buffer {
  const parts: Buffer[] = [];
  for (const t of texts) {
    const b = Buffer.from(t);
    const msg = Buffer.concat([Buffer.from([0x0a]), varint(b.length), b, Buffer.from([0x10, 1, 0x18, 1])]);
    const h = Buffer.alloc(5); h.writeUInt32BE(msg.length, 1); parts.push(h, msg);
  }
  return Buffer.concat(parts);
}
function varint(n: number) { const o = []; while (n > 127) { o.push((n & 127) | 128); n >>>= 7; } o.push(n); return Buffer.from(o); }
const sess = http2.connect(sim.url.replace('grpc', 'http'), process.env.WIN ? { settings: { initialWindowSize: 8 << 20 } } : {}); if (process.env.WIN) sess.on('connect', () => sess.setLocalWindowSize(32 << 20));
async function raw() {
  const s = sess.request({ ':method': 'POST', ':path': '/tei.v1.Embed/EmbedStream', 'content-type': 'application/grpc', te: 'trailers' });
  s.end(frames());
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  let st = '';
  s.on('trailers', (t) => (st = String(t['grpc-status'])));
  await new Promise((r) => s.on('close', r));
  const body = Buffer.concat(chunks); (globalThis as any).nch = chunks.length;
  const out = new Float32Array(1000 * 768); let pos = 0, row = 0;
  while (pos < body.length) { const len = body.readUInt32BE(pos + 1); const m = body.subarray(pos + 5, pos + 5 + len); // 0x0a varint len floats
    let p = 1, l = 0, sh = 0; for (;;) { const b = m[p++]; l |= (b & 127) << sh; sh += 7; if (b < 128) break; }
    new Uint8Array(out.buffer, row * 3072, l).set(m.subarray(p, p + l)); row++; pos += 5 + len; }
  if (st !== '0' || row !== 1000) throw new Error('bad ' + st + ' ' + row);
}
for (let i = 0; i < 3; i++) await raw();
c0 = cpu();
for (let i = 0; i < 20; i++) await raw();
console.log('raw h2 per request ms cpu', (cpu() - c0) / 20, 'chunks', (globalThis as any).nch);

{ let t = performance.now(); for (let i = 0; i < 20; i++) frames(); console.log('frames ms', (performance.now() - t) / 20); }
sess.close(); await be.close(); await sim.stop();
