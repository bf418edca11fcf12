/**
 * A tiny authoritative DNS server for tests: A and AAAA records the test sets, answered over UDP and TCP on one
 * ephemeral port of 127.0.0.1, so code that uses `dns.promises.Resolver` + `setServers([server])` is exercised
 * over a real socket.
 *
 * Answers: A (1) and AAAA (28) from the records with the configured TTL; NOERROR with no answers for a known name
 * without records of the asked type (NODATA); NXDOMAIN for unknown names; NOTIMP for opcodes other than QUERY;
 * FORMERR for a malformed question (more or fewer than one, compression pointers, overruns); REFUSED for classes
 * other than IN. Over UDP an answer longer than 512 bytes is sent truncated (TC, no answers), so the client
 * retries over TCP, where it is sent whole.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';

export interface TestDns {
  /** "127.0.0.1:port" for Resolver.setServers */
  readonly server: string;
  readonly port: number;
  /** Replace the A and AAAA records of `name` (addresses: IPv4 and/or IPv6 strings; [] = the name exists with no records). */
  set(name: string, addresses: string[]): void;
  /** Remove the name: queries then get NXDOMAIN. */
  delete(name: string): void;
  /** Queries answered so far, per name (lowercase), for assertions. */
  queries(name: string): number;
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_ANY = 255;
const CLASS_IN = 1;
const RCODE_FORMERR = 1;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;
const RCODE_REFUSED = 5;
const UDP_MAX = 512;

interface Records {
  a: Buffer[];
  aaaa: Buffer[];
}

function normalize(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

function ipv4Bytes(s: string): Buffer {
  return Buffer.from(s.split('.').map(Number));
}

/** 16 bytes of an IPv6 address (validated by net.isIPv6 first; no zone). */
function ipv6Bytes(s: string): Buffer {
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const b = ipv4Bytes(g);
        out.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
      } else {
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const [head, tail] = s.split('::');
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const buf = Buffer.alloc(16);
  all.forEach((g, i) => buf.writeUInt16BE(g, i * 2));
  return buf;
}

interface Question {
  name: string;
  type: number;
  cls: number;
  /** Offset just past the question section. */
  end: number;
}

/** The single question of `msg`, or null when it is malformed. */
function parseQuestion(msg: Buffer): Question | null {
  if (msg.readUInt16BE(4) !== 1) return null;
  const labels: string[] = [];
  let off = 12;
  let wire = 0;
  for (;;) {
    if (off >= msg.length) return null;
    const len = msg[off];
    if ((len & 0xc0) !== 0) return null; // compression pointer or reserved label type
    off += 1;
    wire += len + 1;
    if (wire > 255) return null;
    if (len === 0) break;
    if (off + len > msg.length) return null;
    labels.push(msg.toString('latin1', off, off + len));
    off += len;
  }
  if (off + 4 > msg.length) return null;
  return {
    name: labels.join('.').toLowerCase(),
    type: msg.readUInt16BE(off),
    cls: msg.readUInt16BE(off + 2),
    end: off + 4,
  };
}

function header(query: Buffer, rcode: number, qd: number, an: number, tc = false): Buffer {
  const h = Buffer.alloc(12);
  const qflags = query.readUInt16BE(2);
  const opcode = (qflags >> 11) & 0xf;
  const rd = qflags & 0x0100;
  // QR, opcode, AA, TC, RD (copied), RA = 0, rcode
  h.writeUInt16BE(query.readUInt16BE(0), 0);
  h.writeUInt16BE(0x8000 | (opcode << 11) | 0x0400 | (tc ? 0x0200 : 0) | rd | (rcode & 0xf), 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  return h;
}

function answerRecord(type: number, ttl: number, rdata: Buffer): Buffer {
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
  rr.writeUInt16BE(type, 2);
  rr.writeUInt16BE(CLASS_IN, 4);
  rr.writeUInt32BE(ttl, 6);
  rr.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([rr, rdata]);
}

export async function startTestDns(options: { ttl?: number } = {}): Promise<TestDns> {
  const ttl = options.ttl ?? 1;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0x7fffffff) throw new RangeError(`bad ttl ${ttl}`);
  const zone = new Map<string, Records>();
  const counts = new Map<string, number>();

  /** The response to `msg`, or null to drop it (too short, or itself a response). */
  const respond = (msg: Buffer, maxLen: number): Buffer | null => {
    if (msg.length < 12 || (msg[2] & 0x80) !== 0) return null;
    const q = parseQuestion(msg);
    const question = q ? msg.subarray(12, q.end) : Buffer.alloc(0);
    const qd = q ? 1 : 0;
    const opcode = (msg[2] >> 3) & 0xf;
    if (opcode !== 0) return Buffer.concat([header(msg, RCODE_NOTIMP, qd, 0), question]);
    if (!q) return header(msg, RCODE_FORMERR, 0, 0);
    counts.set(q.name, (counts.get(q.name) ?? 0) + 1);
    if (q.cls !== CLASS_IN) return Buffer.concat([header(msg, RCODE_REFUSED, 1, 0), question]);
    const records = zone.get(q.name);
    if (!records) return Buffer.concat([header(msg, RCODE_NXDOMAIN, 1, 0), question]);
    const answers: Buffer[] = [];
    if (q.type === TYPE_A || q.type === TYPE_ANY) {
      for (const r of records.a) answers.push(answerRecord(TYPE_A, ttl, r));
    }
    if (q.type === TYPE_AAAA || q.type === TYPE_ANY) {
      for (const r of records.aaaa) answers.push(answerRecord(TYPE_AAAA, ttl, r));
    }
    const whole = Buffer.concat([header(msg, 0, 1, answers.length), question, ...answers]);
    if (whole.length <= maxLen) return whole;
    return Buffer.concat([header(msg, 0, 1, 0, true), question]);
  };

  // One port for both: bind UDP on an ephemeral port, then TCP on the same one (retrying if it is taken).
  let udp!: dgram.Socket;
  let tcp!: net.Server;
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    udp = dgram.createSocket('udp4');
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    port = udp.address().port;
    tcp = net.createServer();
    tcp.listen(port, '127.0.0.1');
    try {
      await once(tcp, 'listening');
      break;
    } catch (err) {
      await new Promise<void>((r) => udp.close(() => r()));
      if (attempt >= 20 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }

  udp.on('message', (msg, rinfo) => {
    const res = respond(msg, UDP_MAX);
    if (res) udp.send(res, rinfo.port, rinfo.address);
  });
  udp.on('error', () => {});

  const sockets = new Set<net.Socket>();
  tcp.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const res = respond(buf.subarray(2, 2 + len), 0xffff);
        buf = buf.subarray(2 + len);
        if (res) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(res.length, 0);
          sock.write(Buffer.concat([prefix, res]));
        }
      }
    });
  });

  let closing: Promise<void> | undefined;
  return {
    server: `127.0.0.1:${port}`,
    port,
    set(name, addresses) {
      const records: Records = { a: [], aaaa: [] };
      for (const addr of addresses) {
        if (net.isIPv4(addr)) records.a.push(ipv4Bytes(addr));
        else if (net.isIPv6(addr) && !addr.includes('%')) records.aaaa.push(ipv6Bytes(addr));
        else throw new TypeError(`not an IPv4 or IPv6 address: ${JSON.stringify(addr)}`);
      }
      zone.set(normalize(name), records);
    },
    delete(name) {
      zone.delete(normalize(name));
    },
    queries(name) {
      return counts.get(normalize(name)) ?? 0;
    },
    close() {
      closing ??= Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => {
          tcp.close(() => r());
          for (const s of sockets) s.destroy();
        }),
      ]).then(() => undefined);
      return closing;
    },
  };
}
