import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import dns from 'node:dns';
import { once } from 'node:events';
import { startTestDns, type TestDns } from '../helpers/dns-server.js';

let server: TestDns;
let resolver: dns.promises.Resolver;

before(async () => {
  server = await startTestDns({ ttl: 7 });
  resolver = new dns.promises.Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([server.server]);
});

after(async () => {
  resolver.cancel();
  await server.close();
});

async function dnsError(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
  return undefined;
}

it('serves on 127.0.0.1 at the port it reports', () => {
  assert.equal(server.server, `127.0.0.1:${server.port}`);
  assert.ok(server.port > 0, `port ${server.port} should be an ephemeral port`);
});

it('answers A and AAAA with the configured TTL, names case-insensitive with a trailing dot', async () => {
  server.set('Web.Test.', ['10.0.0.1', '10.0.0.2', '2001:db8::1', '::ffff:192.0.2.5']);
  const a = await resolver.resolve4('web.test', { ttl: true });
  assert.deepEqual(
    a.sort((x, y) => x.address.localeCompare(y.address)),
    [
      { address: '10.0.0.1', ttl: 7 },
      { address: '10.0.0.2', ttl: 7 },
    ],
  );
  const aaaa = await resolver.resolve6('WEB.TEST.', { ttl: true });
  assert.deepEqual(aaaa.map((r) => r.address).sort(), ['2001:db8::1', '::ffff:192.0.2.5']);
  assert.ok(
    aaaa.every((r) => r.ttl === 7),
    `every AAAA ttl should be 7: ${JSON.stringify(aaaa)}`,
  );
});

it('set() replaces the records of a name', async () => {
  server.set('swap.test', ['10.0.1.1', '10.0.1.2']);
  assert.deepEqual((await resolver.resolve4('swap.test')).sort(), ['10.0.1.1', '10.0.1.2']);
  server.set('swap.test', ['10.0.1.3']);
  assert.deepEqual(await resolver.resolve4('swap.test'), ['10.0.1.3']);
  server.set('swap.test', ['2001:db8::3']);
  assert.equal(await dnsError(resolver.resolve4('swap.test')), dns.NODATA);
  assert.deepEqual(await resolver.resolve6('swap.test'), ['2001:db8::3']);
});

it('delete() makes the name NXDOMAIN (ENOTFOUND)', async () => {
  server.set('gone.test', ['10.0.2.1']);
  assert.deepEqual(await resolver.resolve4('gone.test'), ['10.0.2.1']);
  server.delete('GONE.test');
  assert.equal(await dnsError(resolver.resolve4('gone.test')), dns.NOTFOUND);
  assert.equal(await dnsError(resolver.resolve6('gone.test')), dns.NOTFOUND);
});

it('an unknown name is ENOTFOUND', async () => {
  assert.equal(await dnsError(resolver.resolve4('nobody.test')), dns.NOTFOUND);
  assert.equal(await dnsError(resolver.resolve6('nobody.test')), dns.NOTFOUND);
});

it('a name without records of the asked type is ENODATA', async () => {
  server.set('v4only.test', ['10.0.3.1']);
  assert.equal(await dnsError(resolver.resolve6('v4only.test')), dns.NODATA);
  server.set('empty.test', []);
  assert.equal(await dnsError(resolver.resolve4('empty.test')), dns.NODATA);
  assert.equal(await dnsError(resolver.resolve6('empty.test')), dns.NODATA);
});

it('queries() counts the queries per name', async () => {
  server.set('count.test', ['10.0.4.1']);
  assert.equal(server.queries('count.test'), 0);
  await resolver.resolve4('count.test');
  assert.equal(await dnsError(resolver.resolve6('Count.Test')), dns.NODATA); // NODATA is answered too
  await dnsError(resolver.resolve4('count-missing.test'));
  assert.equal(server.queries('COUNT.test.'), 2);
  assert.equal(server.queries('count-missing.test'), 1);
});

it('answers too long for UDP are truncated and fetched over TCP', async () => {
  const many = Array.from({ length: 60 }, (_, i) => `10.5.0.${i}`);
  server.set('big.test', many);
  const got = await resolver.resolve4('big.test');
  assert.deepEqual(got.sort(), [...many].sort());
  assert.equal(server.queries('big.test'), 2, 'one truncated UDP query, then one over TCP');
});

it('rejects an invalid address in set()', () => {
  assert.throws(() => server.set('bad.test', ['10.0.0.256']), TypeError);
  assert.throws(() => server.set('bad.test', ['web.test']), TypeError);
});

/** Sends one raw UDP message and returns the reply. */
async function raw(msg: Buffer): Promise<Buffer> {
  const sock = dgram.createSocket('udp4');
  try {
    sock.send(msg, server.port, '127.0.0.1');
    const [reply] = (await once(sock, 'message', { signal: AbortSignal.timeout(2000) })) as [Buffer];
    return reply;
  } finally {
    sock.close();
  }
}

function query(id: number, flags: number, question: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(1, 4);
  return Buffer.concat([h, question]);
}

const webA = Buffer.from([3, ...Buffer.from('web'), 4, ...Buffer.from('test'), 0, 0, 1, 0, 1]);

it('copies ID, RD and the question, and sets QR and AA', async () => {
  const withRd = await raw(query(0x1234, 0x0100, webA));
  assert.equal(withRd.readUInt16BE(0), 0x1234);
  const flags = withRd.readUInt16BE(2);
  assert.ok((flags & 0x8000) !== 0, `QR should be set: ${flags.toString(16)}`);
  assert.ok((flags & 0x0400) !== 0, `AA should be set: ${flags.toString(16)}`);
  assert.ok((flags & 0x0100) !== 0, `RD should be copied: ${flags.toString(16)}`);
  assert.equal(flags & 0xf, 0, 'NOERROR');
  assert.deepEqual(withRd.subarray(12, 12 + webA.length), webA);
  const noRd = await raw(query(0xbeef, 0x0000, webA));
  assert.equal(noRd.readUInt16BE(0), 0xbeef);
  assert.ok((noRd.readUInt16BE(2) & 0x0100) === 0, 'RD should stay clear');
});

it('answers FORMERR to a compression pointer in the question and NOTIMP to other opcodes', async () => {
  const pointer = Buffer.from([3, ...Buffer.from('web'), 0xc0, 12, 0, 1, 0, 1]);
  const formerr = await raw(query(7, 0x0100, pointer));
  assert.equal(formerr.readUInt16BE(0), 7);
  assert.equal(formerr.readUInt16BE(2) & 0xf, 1, 'FORMERR');
  const notimp = await raw(query(8, 2 << 11, webA)); // opcode 2 (STATUS)
  assert.equal(notimp.readUInt16BE(2) & 0xf, 4, 'NOTIMP');
  assert.equal((notimp.readUInt16BE(2) >> 11) & 0xf, 2, 'opcode copied');
});
