/**
 * `tei-router certs`: a development PKI for mTLS. `init` writes the six files the tei-manager mTLS guide's openssl
 * steps produce (CA, server and client certificates and keys), `client` issues more client certificates from that
 * CA, `revoke` and `crl` maintain its CRL. The PKI itself is src/pki, loaded only when a sub-command runs.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RouterError } from '../errors.js';
import type { CommandSpec, FlagSpec, FlagValues } from './flags.js';
import { helpText, parseFlags } from './flags.js';

/** Certificates live at most a year (the mTLS security checklist). */
export const MAX_DAYS = 365;

export const CA_SUBJECT = 'CN=tei-router-dev-ca,O=tei-router';
export const SERVER_SUBJECT = 'CN=tei-router,O=tei-router';
export const SERVER_SANS = ['DNS:localhost', 'DNS:tei-router', 'IP:127.0.0.1', 'IP:::1'];
export const CLIENT_SUBJECT = 'CN=tei-client,O=tei-router';

const FILES = {
  ca: 'ca.pem',
  caKey: 'ca-key.pem',
  server: 'server.pem',
  serverKey: 'server-key.pem',
  client: 'client.pem',
  clientKey: 'client-key.pem',
  crl: 'crl.pem',
} as const;

const keyTypeFlag: FlagSpec = {
  name: 'key-type',
  type: 'string',
  choices: ['p384', 'rsa4096'],
  default: 'p384',
  help: 'Algorithm of the new keys: ECDSA P-384 (signs with SHA-384) or RSA 4096 (slow to generate)',
};
const daysFlag: FlagSpec = {
  name: 'days',
  type: 'int',
  min: 1,
  default: MAX_DAYS,
  help: `Validity in days, at most ${MAX_DAYS}`,
};
const SAN_FORMS = 'DNS:name, IP:addr (v4 or v6), URI:uri or email:addr; repeatable, or comma-separated';
const sanFlag = (whose: string): FlagSpec => ({
  name: 'san',
  type: 'list',
  default: [],
  help: `Subject alternative name of the ${whose}: ${SAN_FORMS}`,
});
const forceFlag: FlagSpec = {
  name: 'force',
  type: 'bool',
  default: false,
  help: 'Overwrite files that exist',
};
const dirFlag: FlagSpec = {
  name: 'dir',
  type: 'string',
  default: 'certs',
  help: 'Directory with the CA (ca.pem, ca-key.pem) that `certs init` wrote',
};
const crlDaysFlag: FlagSpec = {
  name: 'crl-days',
  type: 'int',
  min: 1,
  max: MAX_DAYS,
  default: 30,
  help: 'Days until the nextUpdate of the CRL; past it, TLS servers refuse every client: re-run `certs crl` before',
};

export const certsInitCommand: CommandSpec = {
  name: 'certs init',
  summary:
    'Create a development CA and a server and a client certificate signed by it: ca.pem, ca-key.pem, ' +
    'server.pem, server-key.pem, client.pem, client-key.pem (the files of the tei-manager mTLS guide). ' +
    `Server: ${SERVER_SUBJECT} with SANs ${SERVER_SANS.join(', ')} (plus --san), extendedKeyUsage serverAuth. ` +
    `Client: ${CLIENT_SUBJECT}, extendedKeyUsage clientAuth. Keys are written with mode 0600.`,
  usage: 'tei-router certs init [--out <dir>] [flags]',
  flags: [
    { name: 'out', type: 'string', default: 'certs', help: 'Directory to write to (created if missing)' },
    keyTypeFlag,
    daysFlag,
    sanFlag('server certificate, added to the four above'),
    { ...forceFlag, help: 'Overwrite files that exist, and remove a crl.pem there (its CA is replaced)' },
  ],
};

export const certsClientCommand: CommandSpec = {
  name: 'certs client',
  summary:
    'Issue another client certificate, "CN=<name>,O=tei-router" with extendedKeyUsage clientAuth, signed by the ' +
    'CA in --dir: writes <out>/<name>.pem and <out>/<name>-key.pem (mode 0600).',
  usage: 'tei-router certs client <name> [flags]',
  flags: [
    dirFlag,
    { name: 'out', type: 'string', help: 'Directory to write to (unset: the --dir)' },
    sanFlag('client certificate'),
    daysFlag,
    keyTypeFlag,
    forceFlag,
  ],
};

export const certsRevokeCommand: CommandSpec = {
  name: 'certs revoke',
  summary:
    'Revoke a certificate issued by the CA in --dir: adds its serial to <dir>/crl.pem (created if missing), ' +
    'keeping the serials already there and incrementing the CRL number. Give the CRL to the router ' +
    '(tls crl_path) to have it refuse the certificate.',
  usage: 'tei-router certs revoke <cert.pem> [flags]',
  flags: [dirFlag, crlDaysFlag],
};

export const certsCrlCommand: CommandSpec = {
  name: 'certs crl',
  summary:
    'Write <dir>/crl.pem signed by the CA in --dir: empty when there is none yet, else the same revoked serials ' +
    'with a new CRL number and nextUpdate (run it before the CRL expires).',
  usage: 'tei-router certs crl [flags]',
  flags: [dirFlag, crlDaysFlag],
};

const SUBCOMMANDS: Record<string, { spec: CommandSpec; run: (argv: string[]) => Promise<void> }> = {
  init: { spec: certsInitCommand, run: runInit },
  client: { spec: certsClientCommand, run: runClient },
  revoke: { spec: certsRevokeCommand, run: runRevoke },
  crl: { spec: certsCrlCommand, run: runCrl },
};

export const certsCommand: CommandSpec = {
  name: 'certs',
  summary: 'Generate a development PKI for mTLS: a CA, server and client certificates, and a CRL.',
  usage: 'tei-router certs <init|client|revoke|crl> [flags]',
  flags: [],
};

/** The --help text for `certs [sub-command] ...`. */
export function certsHelp(argv: readonly string[]): string {
  const sub = SUBCOMMANDS[argv.find((a) => !a.startsWith('-')) ?? ''];
  if (sub) return helpText(sub.spec);
  const rows = Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(8)}${s.spec.usage}`);
  return (
    `${certsCommand.summary} Not for production: use your organisation's PKI there.\n\n` +
    `Usage: ${certsCommand.usage}\n\nSub-commands:\n${rows.join('\n')}\n\n` +
    'Run `tei-router certs <sub-command> --help` for its flags and their defaults.\n'
  );
}

/** `tei-router certs ...`: dispatches to the sub-command. */
export async function runCerts(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  const sub = SUBCOMMANDS[name ?? ''];
  if (!sub) {
    const what =
      name === undefined ? 'a sub-command is needed' : `unknown sub-command ${JSON.stringify(name)}`;
    throw new RouterError(
      'ROUTER_ERR_CLI_UNKNOWN_COMMAND',
      `tei-router certs: ${what}; sub-commands: ${Object.keys(SUBCOMMANDS).join(', ')} (see tei-router certs --help)`,
    );
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(helpText(sub.spec));
    return;
  }
  await sub.run(rest);
}

// ---- argument handling ----

interface Parsed {
  values: FlagValues;
  positionals: string[];
  sans: string[];
}

const BOOL_WORDS = ['true', 'false', '1', '0', 'yes', 'no'];

/**
 * Separates positionals and every --san (the flag parser takes neither: it keeps only the last value of a list
 * flag) from the flags, then parses the flags.
 */
function parseArgs(cmd: CommandSpec, argv: readonly string[]): Parsed {
  const byName = new Map(cmd.flags.map((f) => [f.name, f]));
  const flags: string[] = [];
  const positionals: string[] = [];
  const sans: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq >= 0 ? eq : undefined) : '';
    const spec = byName.get(name);
    if (name === 'san' && spec) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new RouterError('ROUTER_ERR_CLI_BAD_VALUE', '--san needs a value');
      sans.push(
        ...value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      );
      continue;
    }
    flags.push(arg);
    if (!spec || eq >= 0) continue;
    const next = argv[i + 1];
    if (next === undefined) continue;
    if (spec.type !== 'bool' || BOOL_WORDS.includes(next)) {
      flags.push(next);
      i++;
    }
  }
  const { values } = parseFlags(cmd, flags);
  return { values, positionals, sans };
}

function positional(cmd: CommandSpec, parsed: Parsed, what: string): string {
  const [first, ...extra] = parsed.positionals;
  if (first === undefined) {
    throw new RouterError(
      'ROUTER_ERR_CLI_BAD_VALUE',
      `tei-router ${cmd.name}: ${what} is missing (usage: ${cmd.usage})`,
    );
  }
  if (extra.length > 0) {
    throw new RouterError(
      'ROUTER_ERR_CLI_UNKNOWN_FLAG',
      `tei-router ${cmd.name}: unexpected argument ${JSON.stringify(extra[0])} (usage: ${cmd.usage})`,
    );
  }
  return first;
}

function noPositionals(cmd: CommandSpec, parsed: Parsed): void {
  if (parsed.positionals.length > 0) {
    throw new RouterError(
      'ROUTER_ERR_CLI_UNKNOWN_FLAG',
      `tei-router ${cmd.name}: unexpected argument ${JSON.stringify(parsed.positionals[0])} (usage: ${cmd.usage})`,
    );
  }
}

function days(cmd: CommandSpec, values: FlagValues): number {
  const d = values.days as number;
  if (d > MAX_DAYS) {
    throw new RouterError(
      'ROUTER_ERR_CLI_BAD_VALUE',
      `tei-router ${cmd.name}: --days ${d} is more than ${MAX_DAYS}: the mTLS security checklist wants ` +
        `certificates to live at most one year; use --days ${MAX_DAYS} or less and re-issue before they expire`,
    );
  }
  return d;
}

/** Runs a src/pki call, turning its errors (bad input: a SAN, a CA file) into a RouterError. */
async function pkiCall<T>(cmd: CommandSpec, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RouterError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new RouterError('ROUTER_ERR_CLI_BAD_VALUE', `tei-router ${cmd.name}: ${what}: ${message}`, {
      cause: err,
    });
  }
}

// ---- files ----

function ensureDir(cmd: CommandSpec, flag: string, dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new RouterError(
      'ROUTER_ERR_CLI_FILE',
      `tei-router ${cmd.name}: --${flag} ${dir}: cannot create the directory (${(err as Error).message})`,
      { cause: err },
    );
  }
}

function refuseExisting(cmd: CommandSpec, files: string[], force: boolean): void {
  if (force) return;
  const existing = files.filter((f) => fs.existsSync(f));
  if (existing.length > 0) {
    throw new RouterError(
      'ROUTER_ERR_CLI_FILE',
      `tei-router ${cmd.name}: ${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; ` +
        'pass --force to overwrite, or choose another directory',
    );
  }
}

/** Writes a PEM file: private keys with mode 0600 (also when overwriting), certificates and CRLs 0644. */
function writePem(cmd: CommandSpec, file: string, pem: string, secret: boolean): void {
  const mode = secret ? 0o600 : 0o644;
  try {
    fs.writeFileSync(file, pem, { mode });
    fs.chmodSync(file, mode);
  } catch (err) {
    throw new RouterError(
      'ROUTER_ERR_CLI_FILE',
      `tei-router ${cmd.name}: cannot write ${file} (${(err as Error).message})`,
      { cause: err },
    );
  }
}

function readFile(cmd: CommandSpec, file: string, hint: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new RouterError(
      'ROUTER_ERR_CLI_FILE',
      `tei-router ${cmd.name}: cannot read ${file} (${why}); ${hint}`,
      {
        cause: err,
      },
    );
  }
}

/** The CA of `dir`: ca.pem and ca-key.pem. */
function readCa(cmd: CommandSpec, dir: string): { certPem: string; keyPem: string } {
  const hint = `--dir must name a directory made by \`tei-router certs init\` (default: certs)`;
  return {
    certPem: readFile(cmd, path.join(dir, FILES.ca), hint),
    keyPem: readFile(cmd, path.join(dir, FILES.caKey), hint),
  };
}

function dateOf(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function oneLine(subject: string): string {
  return subject.replace(/\n/g, ',');
}

/** The CA's notAfter: leaf certificates are cut to it (they would not verify after it anyway). */
function caNotAfter(caPem: string): Date {
  return new Date(new X509Certificate(caPem).validTo);
}

// ---- sub-commands ----

async function runInit(argv: string[]): Promise<void> {
  const cmd = certsInitCommand;
  const parsed = parseArgs(cmd, argv);
  noPositionals(cmd, parsed);
  const { values } = parsed;
  const validDays = days(cmd, values);
  const out = values.out as string;
  const keyType = values.keyType as 'p384' | 'rsa4096';
  const files = {
    ca: path.join(out, FILES.ca),
    caKey: path.join(out, FILES.caKey),
    server: path.join(out, FILES.server),
    serverKey: path.join(out, FILES.serverKey),
    client: path.join(out, FILES.client),
    clientKey: path.join(out, FILES.clientKey),
  };
  // A crl.pem there was signed by the CA being replaced, and would make TLS servers refuse every new client.
  const staleCrl = path.join(out, FILES.crl);
  refuseExisting(cmd, [...Object.values(files), staleCrl], values.force as boolean);
  const seen = new Set<string>();
  const sans = [...SERVER_SANS, ...parsed.sans].filter((s) => {
    const key = s.toLowerCase();
    return seen.has(key) ? false : (seen.add(key), true);
  });
  const { createCa, issueCert } = await import('../pki/index.js');
  const ca = await pkiCall(cmd, 'cannot create the CA', () =>
    createCa({ subject: CA_SUBJECT, days: validDays, keyType }),
  );
  const notAfter = caNotAfter(ca.certPem);
  const [server, client] = await Promise.all([
    pkiCall(cmd, 'cannot issue the server certificate (check --san)', () =>
      issueCert(ca, { subject: SERVER_SUBJECT, sans, usage: 'server', notAfter, keyType }),
    ),
    pkiCall(cmd, 'cannot issue the client certificate', () =>
      issueCert(ca, { subject: CLIENT_SUBJECT, usage: 'client', notAfter, keyType }),
    ),
  ]);
  ensureDir(cmd, 'out', out);
  const removedCrl = fs.existsSync(staleCrl);
  if (removedCrl) fs.rmSync(staleCrl);
  writePem(cmd, files.ca, ca.certPem, false);
  writePem(cmd, files.caKey, ca.keyPem, true);
  writePem(cmd, files.server, server.certPem, false);
  writePem(cmd, files.serverKey, server.keyPem, true);
  writePem(cmd, files.client, client.certPem, false);
  writePem(cmd, files.clientKey, client.keyPem, true);

  const abs = (f: string) => path.resolve(f);
  const keyName = keyType === 'p384' ? 'ECDSA P-384' : 'RSA 4096';
  const rows: Array<[string, string]> = [
    [files.ca, `CA certificate, ${CA_SUBJECT}`],
    [files.caKey, 'CA private key (mode 0600): it signs new certificates, keep it secret'],
    [files.server, `server certificate, ${SERVER_SUBJECT}, SANs ${sans.join(', ')}`],
    [files.serverKey, 'server private key (mode 0600)'],
    [files.client, `client certificate, ${CLIENT_SUBJECT}`],
    [files.clientKey, 'client private key (mode 0600)'],
  ];
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  process.stdout.write(
    `tei-router certs init: wrote a development PKI (${keyName} keys, valid until ${dateOf(notAfter)}):\n` +
      rows.map(([f, what]) => `  ${f.padEnd(width)}${what}`).join('\n') +
      '\n\nNext: serve with mTLS. Add to the router config (e.g. router.toml, then `tei-router serve --config router.toml`):\n\n' +
      '  [grpc.tls]\n' +
      `  cert_path = ${JSON.stringify(abs(files.server))}\n` +
      `  key_path = ${JSON.stringify(abs(files.serverKey))}\n` +
      `  ca_path = ${JSON.stringify(abs(files.ca))}\n` +
      '  require_client_cert = true\n\n' +
      'and call it with the client certificate:\n\n' +
      `  curl --cacert ${files.ca} --cert ${files.client} --key ${files.clientKey} https://localhost:8080/health\n\n` +
      `More clients: tei-router certs client <name> --dir ${out}; revoke one: tei-router certs revoke <cert.pem> --dir ${out}\n` +
      (removedCrl
        ? `Removed ${staleCrl}: the replaced CA signed it (\`tei-router certs crl --dir ${out}\` writes a new one).\n`
        : ''),
  );
}

async function runClient(argv: string[]): Promise<void> {
  const cmd = certsClientCommand;
  const parsed = parseArgs(cmd, argv);
  const name = positional(cmd, parsed, 'the client name (CN of the certificate)');
  const { values } = parsed;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.length > 64) {
    throw new RouterError(
      'ROUTER_ERR_CLI_BAD_VALUE',
      `tei-router ${cmd.name}: client name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-' ` +
        '(at most 64 characters, not starting with a punctuation mark): it is the CN and the file name',
    );
  }
  if (['ca', 'ca-key', 'crl'].includes(name.toLowerCase())) {
    throw new RouterError(
      'ROUTER_ERR_CLI_BAD_VALUE',
      `tei-router ${cmd.name}: client name ${JSON.stringify(name)} would clash with the CA's files; choose another`,
    );
  }
  const validDays = days(cmd, values);
  const dir = values.dir as string;
  const out = (values.out as string | undefined) ?? dir;
  const certFile = path.join(out, `${name}.pem`);
  const keyFile = path.join(out, `${name}-key.pem`);
  refuseExisting(cmd, [certFile, keyFile], values.force as boolean);
  const ca = readCa(cmd, dir);
  const { issueCert } = await import('../pki/index.js');
  const wanted = Date.now() + validDays * 86_400_000;
  const caEnd = await pkiCall(cmd, `the CA in ${dir}`, async () => caNotAfter(ca.certPem));
  const notAfter = new Date(Math.min(wanted, caEnd.getTime()));
  const issued = await pkiCall(cmd, `cannot issue the certificate with the CA in ${dir}`, () =>
    issueCert(ca, {
      subject: `CN=${name},O=tei-router`,
      sans: parsed.sans,
      usage: 'client',
      notAfter,
      keyType: values.keyType as 'p384' | 'rsa4096',
    }),
  );
  ensureDir(cmd, 'out', out);
  writePem(cmd, certFile, issued.certPem, false);
  writePem(cmd, keyFile, issued.keyPem, true);
  const cut =
    wanted - caEnd.getTime() > 86_400_000
      ? ` (cut to the CA's expiry; renew the CA with \`certs init --force\` after)`
      : '';
  process.stdout.write(
    `tei-router certs client: wrote ${certFile} (CN=${name},O=tei-router, serial ${issued.serialHex}, ` +
      `clientAuth${parsed.sans.length ? `, SANs ${parsed.sans.join(', ')}` : ''}, valid until ` +
      `${dateOf(notAfter)}${cut}) and ${keyFile} (mode 0600)\n` +
      `  curl --cacert ${path.join(dir, FILES.ca)} --cert ${certFile} --key ${keyFile} https://localhost:8080/health\n`,
  );
}

/** Reads the dir's CRL (if any), checks it is the CA's, and returns its entries and CRL number. */
async function currentCrl(
  cmd: CommandSpec,
  dir: string,
  ca: { certPem: string; keyPem: string },
): Promise<{ entries: Array<{ serialHex: string; date: Date }>; crlNumber: number } | undefined> {
  const file = path.join(dir, FILES.crl);
  if (!fs.existsSync(file)) return undefined;
  const pem = readFile(cmd, file, 'remove it to start a new CRL');
  const { readCrl, verifyCrl } = await import('../pki/index.js');
  const info = await pkiCall(cmd, `${file} (remove it to start a new CRL)`, async () => readCrl(pem));
  if (!(await pkiCall(cmd, `${file}`, () => verifyCrl(pem, ca.certPem)))) {
    throw new RouterError(
      'ROUTER_ERR_CLI_FILE',
      `tei-router ${cmd.name}: ${file} is not signed by the CA in ${path.join(dir, FILES.ca)}; ` +
        'remove it to start a new CRL, or pass the --dir of its CA',
    );
  }
  return { entries: info.entries, crlNumber: info.crlNumber ?? 0 };
}

async function writeCrl(
  cmd: CommandSpec,
  dir: string,
  ca: { certPem: string; keyPem: string },
  entries: Array<{ serialHex: string; date?: Date }>,
  crlNumber: number,
  crlDays: number,
): Promise<string> {
  const { createCrl } = await import('../pki/index.js');
  const pem = await pkiCall(cmd, `cannot sign the CRL with the CA in ${dir}`, () =>
    createCrl(ca, entries, { crlNumber, nextUpdateDays: crlDays }),
  );
  const file = path.join(dir, FILES.crl);
  writePem(cmd, file, pem, false);
  return file;
}

async function runRevoke(argv: string[]): Promise<void> {
  const cmd = certsRevokeCommand;
  const parsed = parseArgs(cmd, argv);
  const certFile = positional(cmd, parsed, 'the certificate to revoke (a PEM file)');
  const dir = parsed.values.dir as string;
  const crlDays = parsed.values.crlDays as number;
  const certPem = readFile(cmd, certFile, 'name the PEM certificate to revoke');
  const ca = readCa(cmd, dir);
  let cert: X509Certificate;
  let caCert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new RouterError(
      'ROUTER_ERR_CLI_FILE',
      `tei-router ${cmd.name}: ${certFile} is not a PEM certificate (${(err as Error).message})`,
      { cause: err },
    );
  }
  try {
    caCert = new X509Certificate(ca.certPem);
  } catch (err) {
    throw new RouterError(
      'ROUTER_ERR_CLI_FILE',
      `tei-router ${cmd.name}: ${path.join(dir, FILES.ca)} is not a PEM certificate (${(err as Error).message})`,
      { cause: err },
    );
  }
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) {
    throw new RouterError(
      'ROUTER_ERR_CLI_FILE',
      `tei-router ${cmd.name}: ${certFile} (${oneLine(cert.subject)}, issued by ${oneLine(cert.issuer)}) was not ` +
        `issued by the CA in ${path.join(dir, FILES.ca)} (${oneLine(caCert.subject)}); pass the --dir of its CA`,
    );
  }
  const serial = cert.serialNumber.toLowerCase();
  const current = await currentCrl(cmd, dir, ca);
  const entries = current?.entries ?? [];
  const already = entries.some((e) => e.serialHex === serial);
  const crlNumber = (current?.crlNumber ?? 0) + 1;
  const file = await writeCrl(
    cmd,
    dir,
    ca,
    already ? entries : [...entries, { serialHex: serial }],
    crlNumber,
    crlDays,
  );
  const count = entries.length + (already ? 0 : 1);
  process.stdout.write(
    `tei-router certs revoke: ${already ? 'already revoked' : 'revoked'} ${certFile} ` +
      `(${oneLine(cert.subject)}, serial ${serial}); wrote ${file} (CRL number ${crlNumber}, ` +
      `${count} revoked, next update ${dateOf(new Date(Date.now() + crlDays * 86_400_000))})\n` +
      `  The router refuses it once its TLS config names the CRL (crl_path = ${JSON.stringify(path.resolve(file))}).\n`,
  );
}

async function runCrl(argv: string[]): Promise<void> {
  const cmd = certsCrlCommand;
  const parsed = parseArgs(cmd, argv);
  noPositionals(cmd, parsed);
  const dir = parsed.values.dir as string;
  const crlDays = parsed.values.crlDays as number;
  const ca = readCa(cmd, dir);
  const current = await currentCrl(cmd, dir, ca);
  const entries = current?.entries ?? [];
  const crlNumber = (current?.crlNumber ?? 0) + 1;
  const file = await writeCrl(cmd, dir, ca, entries, crlNumber, crlDays);
  process.stdout.write(
    `tei-router certs crl: wrote ${file} (CRL number ${crlNumber}, ${entries.length} revoked, next update ` +
      `${dateOf(new Date(Date.now() + crlDays * 86_400_000))}; run \`tei-router certs crl --dir ${dir}\` again before then)\n`,
  );
}
