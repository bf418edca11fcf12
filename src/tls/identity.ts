// Client identity from a verified TLS client certificate, and allow-list authorization.
//
// Pure: no I/O, no config access. The TLS layer verifies the chain (and revocation) first; this module only
// turns the verified certificate into a ClientIdentity and decides whether the allow-lists admit it.
//
// Node's X509Certificate exposes the subject and subjectAltName as strings, which are parsed here:
//   - subject: one RDN per line in certificate order ("C=US\nO=Acme\, Inc.\nCN=x"); Node 20 escapes special
//     characters RFC 2253-style (\, \+ \" \\ \; \< \> , \HH for control bytes, "\ " for edge spaces, "\#"
//     for a leading #) and joins multi-valued RDNs with " + ". Values wrapped in double quotes (JSON or
//     RFC 2253 quoting, as other Node versions may produce) are accepted too.
//   - subjectAltName: "DNS:a, IP Address:127.0.0.1, URI:spiffe://x, email:a@b"; values containing special
//     characters are JSON string literals (URI:"https://a/b\u002cc"), bytes >= 0x80 as \u00XX. IPv6
//     addresses are shown expanded and upper-case and are normalized here.
import type { X509Certificate } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';

export interface ClientIdentity {
  /** The certificate's subject as "CN=a,O=B" in certificate order (RFC 4514-style escaping of , + " \ < > ; in values); null when no certificate. */
  subject: string | null;
  /** [type, value] pairs, types as short names upper-cased where a short name exists (CN, O, OU, C, ST, L, DC, UID, E for emailAddress, SERIALNUMBER...) */
  subjectAttrs: Array<[string, string]>;
  /** "DNS:x", "IP:127.0.0.1" / "IP:::1" (IPv6 canonical compressed lowercase), "URI:spiffe://...", "email:a@b" */
  sans: string[];
  /** the first URI SAN starting with spiffe://, else null */
  spiffeId: string | null;
  /** lowercase hex */
  serial: string | null;
  /** as node gives it */
  fingerprint256: string | null;
  /** SNI server name the client dialled, or null */
  tenant: string | null;
}

export type SanKind = 'DNS' | 'IP' | 'URI' | 'email';
export interface SanEntry {
  kind: SanKind;
  value: string;
}

export interface AuthzRules {
  /** parsed (parseSubject) */
  allowedSubjects: Array<Array<[string, string]>>;
  /** parsed (parseSanEntry) */
  allowedSans: SanEntry[];
  requireSanMatchesSni: boolean;
}

export type AuthzDecision =
  { ok: true } | { ok: false; rule: 'no_certificate' | 'allow_list' | 'sni'; message: string };

// ---------------------------------------------------------------------------------------------------------
// Attribute type names

/** Lower-cased alias (short name, long name, OID) -> canonical upper-case short name. */
const TYPE_ALIASES: ReadonlyMap<string, string> = (() => {
  const table: Array<[string, string[]]> = [
    ['CN', ['commonName', '2.5.4.3']],
    ['SN', ['surname', '2.5.4.4']],
    ['SERIALNUMBER', ['serialNumber', '2.5.4.5']],
    ['C', ['countryName', '2.5.4.6']],
    ['L', ['localityName', '2.5.4.7']],
    ['ST', ['stateOrProvinceName', 'S', '2.5.4.8']],
    ['STREET', ['streetAddress', '2.5.4.9']],
    ['O', ['organizationName', '2.5.4.10']],
    ['OU', ['organizationalUnitName', '2.5.4.11']],
    ['TITLE', ['2.5.4.12']],
    ['DESCRIPTION', ['2.5.4.13']],
    ['BUSINESSCATEGORY', ['2.5.4.15']],
    ['POSTALCODE', ['2.5.4.17']],
    ['NAME', ['2.5.4.41']],
    ['GN', ['givenName', '2.5.4.42']],
    ['INITIALS', ['2.5.4.43']],
    ['GENERATIONQUALIFIER', ['2.5.4.44']],
    ['X500UNIQUEIDENTIFIER', ['2.5.4.45']],
    ['DNQUALIFIER', ['2.5.4.46']],
    ['PSEUDONYM', ['2.5.4.65']],
    ['ORGANIZATIONIDENTIFIER', ['2.5.4.97']],
    ['DC', ['domainComponent', '0.9.2342.19200300.100.1.25']],
    ['UID', ['userId', '0.9.2342.19200300.100.1.1']],
    ['E', ['emailAddress', 'email', '1.2.840.113549.1.9.1']],
    ['JURISDICTIONC', ['jurisdictionCountryName', '1.3.6.1.4.1.311.60.2.1.3']],
    ['JURISDICTIONST', ['jurisdictionStateOrProvinceName', '1.3.6.1.4.1.311.60.2.1.2']],
    ['JURISDICTIONL', ['jurisdictionLocalityName', '1.3.6.1.4.1.311.60.2.1.1']],
  ];
  const m = new Map<string, string>();
  for (const [canon, aliases] of table) {
    m.set(canon.toLowerCase(), canon);
    for (const a of aliases) m.set(a.toLowerCase(), canon);
  }
  return m;
})();

/** Canonical attribute type: known short/long names and OIDs -> upper-case short name; other OIDs as dotted numbers. */
export function canonicalAttrType(type: string): string {
  let t = type.trim();
  if (/^oid\./i.test(t)) t = t.slice(4);
  return TYPE_ALIASES.get(t.toLowerCase()) ?? t.toUpperCase();
}

const TYPE_RE = /^(?:[A-Za-z][A-Za-z0-9-]*|(?:OID\.)?[0-9]+(?:\.[0-9]+)+)$/i;

// ---------------------------------------------------------------------------------------------------------
// Distinguished names

type Rdn = Array<[string, string]>;

interface DnSyntax {
  /** separator between RDNs */
  rdnSep: string;
  /** allow-list input: throw on anything malformed; certificate input: best effort */
  strict: boolean;
  /** characters that may follow a backslash (besides two hex digits) in strict mode */
  escapable: string;
  /** Node output: a quoted value may be a JSON string literal */
  jsonQuotes: boolean;
  /** whether a leading double quote starts a quoted value */
  quoting: boolean;
}

const RFC4514_ESCAPABLE = ',+"\\<>;=# ';

class DnError extends Error {}

const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9A-Fa-f]$/.test(c);

/**
 * Decodes RFC 4514 escapes in `raw` (the text of one value, quotes already removed for quoted values).
 * Returns the value and trims unescaped leading/trailing spaces when `trim` is set.
 */
function unescapeValue(raw: string, syntax: DnSyntax, trim: boolean): string {
  let out = '';
  let keep = 0; // out.length up to the last significant (non-space or escaped) character
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length === 0) return;
    try {
      out += new TextDecoder('utf-8', { fatal: syntax.strict }).decode(Uint8Array.from(bytes));
    } catch {
      throw new DnError('hex escapes are not valid UTF-8');
    }
    bytes = [];
    keep = out.length;
  };
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\') {
      const n = raw[i + 1];
      if (isHex(n) && isHex(raw[i + 2])) {
        bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
        i += 2;
        continue;
      }
      flush();
      if (n === undefined) {
        if (syntax.strict) throw new DnError('value ends with a lone "\\"');
        out += '\\';
        keep = out.length;
        continue;
      }
      if (syntax.strict && !syntax.escapable.includes(n)) {
        throw new DnError(
          `unknown escape "\\${n}" (escape only ${[...syntax.escapable].map((x) => (x === ' ' ? 'space' : x)).join(' ')} or two hex digits)`,
        );
      }
      out += n;
      keep = out.length;
      i += 1;
      continue;
    }
    flush();
    out += c;
    if (c !== ' ') keep = out.length;
  }
  flush();
  if (!trim) return out;
  return out.slice(0, keep);
}

/** Decodes the text between the quotes of a quoted value. */
function unquoteValue(inner: string, syntax: DnSyntax): string {
  if (syntax.jsonQuotes) {
    try {
      const v: unknown = JSON.parse(`"${inner}"`);
      if (typeof v === 'string') return v;
    } catch {
      // not JSON: RFC 2253 quoting
    }
  }
  return unescapeValue(inner, syntax, false);
}

/** Parses a distinguished name into RDNs (each a list of [type, value], types as written). */
function parseDn(input: string, syntax: DnSyntax): Rdn[] {
  const rdns: Rdn[] = [];
  let rdn: Rdn = [];
  let i = 0;
  const n = input.length;
  const skipSpaces = (): void => {
    while (i < n && input[i] === ' ') i++;
  };
  for (;;) {
    // attribute type
    skipSpaces();
    const typeStart = i;
    while (i < n && input[i] !== '=' && input[i] !== syntax.rdnSep && input[i] !== '+') i++;
    const type = input.slice(typeStart, i).trim();
    if (i >= n || input[i] !== '=') {
      if (type === '') throw new DnError(i >= n ? 'ends with an empty attribute' : 'empty attribute');
      throw new DnError(`attribute "${type}" has no "="`);
    }
    if (type === '') throw new DnError('an attribute type is missing before "="');
    if (syntax.strict && !TYPE_RE.test(type)) {
      throw new DnError(`"${type}" is not an attribute type (expected e.g. CN, O, OU or a dotted OID)`);
    }
    i++; // '='
    skipSpaces();
    let value: string;
    if (syntax.quoting && input[i] === '"') {
      const start = ++i;
      while (i < n && input[i] !== '"') i += input[i] === '\\' ? 2 : 1;
      if (i >= n) {
        if (syntax.strict) throw new DnError(`the quoted value of "${type}" has no closing quote`);
        value = unquoteValue(input.slice(start), syntax);
      } else {
        value = unquoteValue(input.slice(start, i), syntax);
        i++; // closing quote
        skipSpaces();
        if (i < n && input[i] !== syntax.rdnSep && input[i] !== '+') {
          throw new DnError(`unexpected text after the quoted value of "${type}"`);
        }
      }
    } else {
      const start = i;
      while (i < n && input[i] !== syntax.rdnSep && input[i] !== '+') {
        if (input[i] === '\\') {
          i += 2;
          continue;
        }
        if (syntax.strict && syntax.rdnSep === ',' && input[i] === ';') {
          throw new DnError('unescaped ";" (separate attributes with "," and write a literal ; as \\;)');
        }
        i++;
      }
      if (i > n) i = n; // a trailing lone backslash
      value = unescapeValue(input.slice(start, i), syntax, true);
    }
    if (value === '' && syntax.strict) throw new DnError(`attribute "${type}" has an empty value`);
    rdn.push([type, value]);
    if (i >= n) break;
    if (input[i] === syntax.rdnSep) {
      rdns.push(rdn);
      rdn = [];
    }
    i++; // separator
    if (i >= n && syntax.strict) throw new DnError(`ends with "${input[i - 1]}"`);
  }
  rdns.push(rdn);
  return rdns;
}

const canonRdns = (rdns: Rdn[]): Rdn[] =>
  rdns.map((rdn) => rdn.map(([t, v]): [string, string] => [canonicalAttrType(t), v]));

/** Escapes one attribute value for the "CN=a,O=B" form (RFC 4514, plus control characters as \HH). */
export function escapeAttrValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    const code = c.charCodeAt(0);
    if (',+"\\<>;'.includes(c)) out += `\\${c}`;
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else if ((c === ' ' && (i === 0 || i === value.length - 1)) || (c === '#' && i === 0)) out += `\\${c}`;
    else out += c;
  }
  return out;
}

function formatRdns(rdns: Rdn[]): string {
  return rdns.map((rdn) => rdn.map(([t, v]) => `${t}=${escapeAttrValue(v)}`).join('+')).join(',');
}

/** Formats [type, value] pairs as "CN=a,O=B" (one attribute per RDN). */
export function formatSubject(attrs: Array<[string, string]>): string {
  return formatRdns(attrs.map((a) => [a]));
}

/**
 * Parses an allow-list subject: "CN=a,O=B" (RFC 4514 style with \, escapes and "quoted" values), also
 * "/CN=a/O=B" (openssl -subj form). Throws TypeError naming the problem for malformed input (empty, no '=',
 * unknown escape). Types are returned canonical (CN, O, E, ...); multi-valued RDNs (a+b) are flattened.
 */
export function parseSubject(s: string): Array<[string, string]> {
  if (typeof s !== 'string' || s.trim() === '') {
    throw new TypeError(
      `invalid subject ${JSON.stringify(s)}: it is empty (expected e.g. "CN=client,O=Org")`,
    );
  }
  // Leading spaces only: a trailing "\ " is an escaped, significant space.
  const text = s.trimStart();
  const slash = text.startsWith('/');
  const syntax: DnSyntax = slash
    ? { rdnSep: '/', strict: true, escapable: `${RFC4514_ESCAPABLE}/`, jsonQuotes: false, quoting: false }
    : { rdnSep: ',', strict: true, escapable: RFC4514_ESCAPABLE, jsonQuotes: false, quoting: true };
  try {
    if (slash && text.length === 1) throw new DnError('it has no attributes');
    return canonRdns(parseDn(slash ? text.slice(1) : text, syntax)).flat();
  } catch (e) {
    if (e instanceof DnError) {
      throw new TypeError(
        `invalid subject ${JSON.stringify(s)}: ${e.message} (expected "CN=client,O=Org" with \\, escapes or "quoted" values, or "/CN=client/O=Org")`,
      );
    }
    throw e;
  }
}

/** Parses Node's X509Certificate.subject (one RDN per line) into RDNs with canonical types. Never throws. */
export function parseNodeSubject(subject: string | undefined): Rdn[] {
  if (subject === undefined || subject === '') return [];
  const syntax: DnSyntax = {
    rdnSep: '\n',
    strict: false,
    escapable: RFC4514_ESCAPABLE,
    jsonQuotes: true,
    quoting: true,
  };
  try {
    return canonRdns(parseDn(subject, syntax));
  } catch {
    // Something unexpected: one attribute per line, split at the first '='.
    return subject.split('\n').map((line) => {
      const eq = line.indexOf('=');
      return [eq < 0 ? ['', line] : [canonicalAttrType(line.slice(0, eq)), line.slice(eq + 1)]];
    });
  }
}

function multisetKey(attrs: Array<[string, string]>): string[] {
  return attrs.map(([t, v]) => JSON.stringify([canonicalAttrType(t), v])).sort();
}

/**
 * Exact, attribute by attribute, order-insensitive multiset equality: "CN=a,O=B" equals "O=B,CN=a"; "CN=a"
 * matches neither "CN=ab" nor "CN=a,O=B"; types case-insensitive with aliases (commonName=CN,
 * emailAddress=E, 2.5.4.3=CN ...); values compared exactly (case-sensitive; parseSubject has already dropped
 * insignificant surrounding spaces). An empty `allowed` matches nothing.
 */
export function subjectMatches(allowed: Array<[string, string]>, attrs: Array<[string, string]>): boolean {
  if (allowed.length === 0 || allowed.length !== attrs.length) return false;
  const a = multisetKey(allowed);
  const b = multisetKey(attrs);
  return a.every((k, i) => k === b[i]);
}

// ---------------------------------------------------------------------------------------------------------
// IP addresses

function parseIPv4(s: string): number[] | null {
  if (!isIPv4(s)) return null;
  return s.split('.').map(Number);
}

/** 16 bytes of an IPv6 address (no zone), or null. */
function parseIPv6(s: string): number[] | null {
  if (s.includes('%') || !isIPv6(s)) return null;
  let text = s;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    text = text.slice(0, lastColon + 1);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const groupsOf = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  let groups: number[];
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    const head = groupsOf(text.slice(0, dbl));
    const rest = [...groupsOf(text.slice(dbl + 2)), ...tail];
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return null;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = [...groupsOf(text), ...tail];
  }
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return null;
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/** IPv4 and IPv6 as 16 bytes (IPv4 as the v4-mapped ::ffff:a.b.c.d), or null. */
export function ipBytes(s: string): number[] | null {
  const v4 = parseIPv4(s);
  if (v4 !== null) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4];
  return parseIPv6(s);
}

function formatIPv6(b: number[]): string {
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return `::ffff:${b.slice(12).join('.')}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  let bestStart = -1;
  let bestLen = 1; // RFC 5952: compress only runs of two or more zero groups, the first longest
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** IPv4 unchanged; IPv6 in RFC 5952 canonical form (compressed, lower-case, ::ffff:a.b.c.d); null if not an address. */
export function normalizeIp(s: string): string | null {
  const t = s.trim();
  if (parseIPv4(t) !== null) return t;
  const v6 = parseIPv6(t);
  return v6 === null ? null : formatIPv6(v6);
}

// ---------------------------------------------------------------------------------------------------------
// Subject alternative names

const NODE_SAN_TYPES = [
  'DNS',
  'IP Address',
  'URI',
  'email',
  'DirName',
  'othername',
  'Registered ID',
  'X400Name',
  'EdiPartyName',
];
const NEXT_SAN_RE = new RegExp(`^, (?:${NODE_SAN_TYPES.join('|')}):`);

/** JSON-escaped bytes >= 0x80 arrive as \u00XX each: re-read them as UTF-8 where they form valid UTF-8. */
function fixLatin1Bytes(v: string): string {
  const codes = Array.from(v, (c) => c.charCodeAt(0));
  if (!codes.some((c) => c >= 0x80) || codes.some((c) => c > 0xff)) return v;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(v, (c) => c.charCodeAt(0)));
  } catch {
    return v;
  }
}

/** Parses Node's X509Certificate.subjectAltName into [type, value] pairs (types as Node names them). */
export function parseNodeSubjectAltName(san: string | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (san === undefined || san === '') return out;
  let i = 0;
  const n = san.length;
  while (i < n) {
    const colon = san.indexOf(':', i);
    if (colon < 0) {
      out.push(['', san.slice(i)]);
      break;
    }
    const type = san.slice(i, colon).trim();
    i = colon + 1;
    let value: string | null = null;
    if (san[i] === '"') {
      let j = i + 1;
      while (j < n && san[j] !== '"') j += san[j] === '\\' ? 2 : 1;
      try {
        const v: unknown = JSON.parse(san.slice(i, j + 1));
        if (typeof v === 'string') {
          value = fixLatin1Bytes(v);
          i = j + 1;
        }
      } catch {
        value = null;
      }
    }
    if (value === null) {
      // Unquoted: up to the next ", <known type>:" (values with commas are quoted by Node >= 17.3).
      let j = i;
      while (j < n && !(san[j] === ',' && NEXT_SAN_RE.test(san.slice(j)))) j++;
      value = san.slice(i, j);
      i = j;
    }
    out.push([type, value]);
    // separator ", "
    while (i < n && (san[i] === ',' || san[i] === ' ')) i++;
  }
  return out;
}

function formatSan(type: string, value: string): string {
  switch (type) {
    case 'DNS':
      return `DNS:${value}`;
    case 'IP Address':
      return `IP:${normalizeIp(value) ?? value}`;
    case 'URI':
      return `URI:${value}`;
    case 'email':
      return `email:${value}`;
    default:
      return type === '' ? value : `${type}:${value}`;
  }
}

/** Splits a SAN string ("DNS:x", "IP:1.2.3.4", also "IP Address:...") into kind and value, or null for other kinds. */
function splitSan(san: string): SanEntry | null {
  const m = /^(DNS|IP Address|IP|URI|email):/i.exec(san);
  if (m === null) return null;
  const p = m[1].toLowerCase();
  const kind: SanKind = p === 'dns' ? 'DNS' : p === 'uri' ? 'URI' : p === 'email' ? 'email' : 'IP';
  return { kind, value: san.slice(m[0].length) };
}

// ---------------------------------------------------------------------------------------------------------
// Identity

/** Builds the client identity from a verified peer certificate (null when the client presented none). */
export function identityFromCert(cert: X509Certificate | null, tenant: string | null): ClientIdentity {
  const t = tenant === null || tenant === undefined || tenant === '' ? null : tenant;
  if (cert === null || cert === undefined) {
    return {
      subject: null,
      subjectAttrs: [],
      sans: [],
      spiffeId: null,
      serial: null,
      fingerprint256: null,
      tenant: t,
    };
  }
  const rdns = parseNodeSubject(cert.subject);
  const sans = parseNodeSubjectAltName(cert.subjectAltName).map(([type, value]) => formatSan(type, value));
  const spiffe = sans.find((s) => /^URI:spiffe:\/\//i.test(s));
  return {
    subject: formatRdns(rdns),
    subjectAttrs: rdns.flat(),
    sans,
    spiffeId: spiffe === undefined ? null : spiffe.slice(4),
    serial: typeof cert.serialNumber === 'string' ? cert.serialNumber.toLowerCase() : null,
    fingerprint256: typeof cert.fingerprint256 === 'string' ? cert.fingerprint256 : null,
    tenant: t,
  };
}

// ---------------------------------------------------------------------------------------------------------
// SAN allow-list entries

const SAN_FORMS =
  'expected DNS:<hostname> (a wildcard only as the whole left-most label, e.g. DNS:*.example.com), ' +
  'IP:<IPv4 or IPv6 address>, URI:<uri> (e.g. URI:spiffe://example.org/workload) or email:<local@domain>';

const LABEL_RE = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;

/** Lower-cases and drops one trailing dot. */
const normDns = (s: string): string => s.toLowerCase().replace(/\.$/, '');

function validDnsName(name: string, allowWildcard: boolean): boolean {
  if (name === '' || name.length > 253) return false;
  const labels = name.split('.');
  return labels.every((l, i) => {
    if (l === '*') return allowWildcard && i === 0 && labels.length >= 2;
    return l.length <= 63 && LABEL_RE.test(l);
  });
}

/**
 * Validates and normalizes an allow-list SAN entry: prefix DNS:, IP:, URI:, email: (case-insensitive prefix;
 * "IP Address:" as openssl prints it is accepted too). DNS names are lower-cased without a trailing dot
 * (internationalized names converted to their ASCII form); IPv6 addresses in canonical form; email domains
 * lower-cased. Throws TypeError naming the entry and the accepted forms otherwise.
 */
export function parseSanEntry(entry: string): SanEntry {
  const fail = (problem: string): never => {
    throw new TypeError(`invalid SAN entry ${JSON.stringify(entry)}: ${problem}; ${SAN_FORMS}`);
  };
  if (typeof entry !== 'string') return fail('not a string');
  const split = splitSan(entry.trim());
  if (split === null) return fail('unknown or missing prefix');
  const value = split.value.trim();
  if (value === '') return fail(`empty ${split.kind} value`);
  switch (split.kind) {
    case 'DNS': {
      let name = normDns(value);
      if ([...name].some((c) => c.charCodeAt(0) > 0x7f)) {
        const wild = name.startsWith('*.');
        const ascii = domainToASCII(wild ? name.slice(2) : name);
        if (ascii === '') return fail('not a valid DNS name');
        name = (wild ? '*.' : '') + ascii;
      }
      if (!validDnsName(name, true)) {
        return fail(
          name.includes('*')
            ? 'a wildcard must be the whole left-most label followed by at least one more label'
            : 'not a valid DNS name',
        );
      }
      return { kind: 'DNS', value: name };
    }
    case 'IP': {
      const ip = normalizeIp(value);
      if (ip === null) return fail('not an IPv4 or IPv6 address (ranges and zone ids are not accepted)');
      return { kind: 'IP', value: ip };
    }
    case 'URI': {
      if (!/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(value) || [...value].some((c) => c <= ' ' || c === '\x7f')) {
        return fail('not an absolute URI');
      }
      if (/^spiffe:/i.test(value) && !/^spiffe:\/\/[^/]+/i.test(value)) {
        return fail('a SPIFFE id is spiffe://<trust-domain>/<path>');
      }
      return { kind: 'URI', value };
    }
    case 'email': {
      const at = value.lastIndexOf('@');
      const local = value.slice(0, at);
      const domain = normDns(value.slice(at + 1));
      if (at <= 0 || /\s/.test(value) || !validDnsName(domain, false)) return fail('not an email address');
      return { kind: 'email', value: `${local}@${domain}` };
    }
  }
}

/** Formats a parsed SAN entry back as "DNS:x". */
export function formatSanEntry(entry: SanEntry): string {
  return `${entry.kind}:${entry.value}`;
}

/** One DNS name against one pattern where "*" as the whole left-most pattern label stands for exactly one label. */
function dnsWildcardMatch(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  if (!pattern.startsWith('*.')) return false;
  const suffix = pattern.slice(1); // ".example.com"
  if (!name.endsWith(suffix)) return false;
  const head = name.slice(0, -suffix.length);
  return head !== '' && !head.includes('.');
}

/**
 * DNS: case-insensitive, trailing dot ignored, "*.example.com" matches exactly one extra label
 * (a.example.com yes; a.b.example.com and example.com no) — a wildcard in the certificate's SAN is matched
 * only literally; IP: address equality after normalization (v4-mapped v6 equals v4); URI: exact string;
 * email: local part exact, domain case-insensitive.
 */
export function sanMatches(entry: SanEntry, sans: string[]): boolean {
  const candidates = sans.map(splitSan).filter((s): s is SanEntry => s !== null && s.kind === entry.kind);
  switch (entry.kind) {
    case 'DNS': {
      const pattern = normDns(entry.value);
      return candidates.some((c) => dnsWildcardMatch(pattern, normDns(c.value)));
    }
    case 'IP': {
      const want = ipBytes(entry.value.trim());
      if (want === null) return false;
      return candidates.some((c) => {
        const got = ipBytes(c.value.trim());
        return got !== null && got.every((b, i) => b === want[i]);
      });
    }
    case 'URI':
      return candidates.some((c) => c.value === entry.value);
    case 'email': {
      const at = entry.value.lastIndexOf('@');
      if (at < 0) return false;
      const local = entry.value.slice(0, at);
      const domain = normDns(entry.value.slice(at + 1));
      return candidates.some((c) => {
        const cat = c.value.lastIndexOf('@');
        return cat >= 0 && c.value.slice(0, cat) === local && normDns(c.value.slice(cat + 1)) === domain;
      });
    }
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Authorization

const MAX_LISTED = 8;

function listForMessage(items: string[]): string {
  const shown = items.slice(0, MAX_LISTED).map((s) => JSON.stringify(s));
  const more = items.length > MAX_LISTED ? `, ... (${items.length - MAX_LISTED} more)` : '';
  return `[${shown.join(', ')}${more}]`;
}

function clientForMessage(identity: ClientIdentity): string {
  const sans = identity.sans;
  const shown = sans.slice(0, 16).join(', ') + (sans.length > 16 ? `, ... (${sans.length - 16} more)` : '');
  return `client ${JSON.stringify(identity.subject ?? '')} (${sans.length === 0 ? 'no SANs' : `SANs: ${shown}`})`;
}

/** Whether the SNI name matches one of the DNS SANs (a "*" left-most SAN label stands for exactly one label). */
function sniMatchesSans(tenant: string, sans: string[]): boolean {
  const name = normDns(tenant);
  return sans
    .map(splitSan)
    .some((s) => s !== null && s.kind === 'DNS' && dnsWildcardMatch(normDns(s.value), name));
}

/**
 * Empty lists: any verified certificate passes. Both lists set: passing EITHER is enough. No certificate while
 * a list is set or requireSanMatchesSni: 'no_certificate'. requireSanMatchesSni: the tenant (SNI name) must
 * match a DNS SAN (wildcards in the cert SAN allowed, one label); no SNI sent is a refusal. The allow-lists
 * are checked before the SNI rule; both must pass.
 */
export function authorize(identity: ClientIdentity, rules: AuthzRules): AuthzDecision {
  const hasLists = rules.allowedSubjects.length > 0 || rules.allowedSans.length > 0;
  const hasCert = identity.fingerprint256 !== null || identity.subject !== null;
  if (!hasCert) {
    if (!hasLists && !rules.requireSanMatchesSni) return { ok: true };
    const set = [
      rules.allowedSubjects.length > 0 ? 'allowed_subjects' : null,
      rules.allowedSans.length > 0 ? 'allowed_sans' : null,
      rules.requireSanMatchesSni ? 'require_san_matches_sni' : null,
    ].filter((x): x is string => x !== null);
    return {
      ok: false,
      rule: 'no_certificate',
      message: `no client certificate presented, but ${set.join(' and ')} ${set.length > 1 ? 'require' : 'requires'} one`,
    };
  }
  if (hasLists) {
    const pass =
      rules.allowedSubjects.some((a) => subjectMatches(a, identity.subjectAttrs)) ||
      rules.allowedSans.some((e) => sanMatches(e, identity.sans));
    if (!pass) {
      const parts: string[] = [];
      if (rules.allowedSubjects.length > 0) {
        parts.push(`allowed_subjects ${listForMessage(rules.allowedSubjects.map(formatSubject))}`);
      }
      if (rules.allowedSans.length > 0) {
        parts.push(`allowed_sans ${listForMessage(rules.allowedSans.map(formatSanEntry))}`);
      }
      return {
        ok: false,
        rule: 'allow_list',
        message: `${clientForMessage(identity)} matches none of ${parts.join(' nor ')}`,
      };
    }
  }
  if (rules.requireSanMatchesSni) {
    if (identity.tenant === null || identity.tenant === '') {
      return {
        ok: false,
        rule: 'sni',
        message:
          `${clientForMessage(identity)} sent no SNI server name, but require_san_matches_sni needs the ` +
          'name it dialled to match one of its DNS SANs',
      };
    }
    if (!sniMatchesSans(identity.tenant, identity.sans)) {
      return {
        ok: false,
        rule: 'sni',
        message:
          `${clientForMessage(identity)} dialled server name ${JSON.stringify(identity.tenant)}, which matches ` +
          'none of its DNS SANs (require_san_matches_sni)',
      };
    }
  }
  return { ok: true };
}

/** A one-line description for logs: subject, SANs, SPIFFE id, tenant, serial (strings JSON-quoted). */
export function describeIdentity(identity: ClientIdentity): string {
  const tenant = identity.tenant === null ? '-' : JSON.stringify(identity.tenant);
  if (identity.subject === null && identity.fingerprint256 === null) {
    return `no client certificate tenant=${tenant}`;
  }
  return [
    `subject=${JSON.stringify(identity.subject ?? '')}`,
    `sans=${JSON.stringify(identity.sans)}`,
    `spiffe=${identity.spiffeId === null ? '-' : JSON.stringify(identity.spiffeId)}`,
    `tenant=${tenant}`,
    `serial=${identity.serial ?? '-'}`,
  ].join(' ');
}
