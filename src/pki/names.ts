/**
 * Subjects and subject alternative names as users write them, turned into @peculiar/x509's JSON forms.
 *
 * Subjects come in two spellings: the comma form "CN=tei-client,O=TEI Manager" (RFC 4514 escapes: `\,` `\+` `\\`
 * `\"` and `\XX` hex) and openssl's `-subj` form "/CN=tei-client/O=TEI Manager" (`\/` escapes a slash). Both are
 * encoded in the order written, as `openssl req -subj` does, so both spellings give the same certificate subject.
 * `+` joins attributes of one multi-valued RDN in both forms.
 */
import { isIP } from 'node:net';
import type { JsonNameParams } from '@peculiar/x509';

type JsonAttributeValue = { ia5String: string } | { printableString: string } | { utf8String: string };

/** Attribute names accepted in subjects (case-insensitive) → the name @peculiar/x509 registers, or an OID. */
const ATTRIBUTES: Record<string, string> = {
  cn: 'CN',
  commonname: 'CN',
  o: 'O',
  organizationname: 'O',
  ou: 'OU',
  organizationalunitname: 'OU',
  c: 'C',
  countryname: 'C',
  st: 'ST',
  s: 'ST',
  stateorprovincename: 'ST',
  l: 'L',
  localityname: 'L',
  dc: 'DC',
  domaincomponent: 'DC',
  e: 'E',
  email: 'E',
  emailaddress: 'E',
  g: 'G',
  givenname: 'G',
  sn: 'SN',
  surname: 'SN',
  t: 'T',
  title: 'T',
  serialnumber: '2.5.4.5',
  uid: '0.9.2342.19200300.100.1.1',
};

/** Attributes whose ASN.1 type is IA5String (RFC 5280 / RFC 4519). */
const IA5 = new Set(['E', 'DC']);

/** Splits `s` on unescaped `sep` characters, keeping escapes in the pieces. */
function splitUnescaped(s: string, seps: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\' && i + 1 < s.length) {
      cur += ch + s[i + 1];
      i++;
    } else if (seps.includes(ch)) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}

/** Resolves `\,`-style and `\XX` hex escapes (hex escapes are UTF-8 bytes). */
function unescapeValue(v: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const ch = v[i];
    if (ch === '\\' && i + 1 < v.length) {
      const hex = v.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
        continue;
      }
      bytes.push(...Buffer.from(v[i + 1], 'utf8'));
      i++;
      continue;
    }
    bytes.push(...Buffer.from(ch, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Parses a subject (comma or slash form) into @peculiar/x509's JSON name, in the order written. */
export function parseSubject(subject: string): JsonNameParams {
  const text = subject.trim();
  if (text === '') throw new Error('the subject is empty; write it as "CN=name,O=org" or "/CN=name/O=org"');
  const slashForm = text.startsWith('/');
  const rdns = slashForm ? splitUnescaped(text.slice(1), '/') : splitUnescaped(text, ',');
  const json: Array<Record<string, JsonAttributeValue[]>> = [];
  for (const rdnText of rdns) {
    if (rdnText.trim() === '' && slashForm) continue; // a trailing slash
    const rdn: Record<string, JsonAttributeValue[]> = {};
    for (const atv of splitUnescaped(rdnText, '+')) {
      const eq = atv.indexOf('=');
      if (eq <= 0) {
        throw new Error(
          `subject ${JSON.stringify(subject)}: ${JSON.stringify(atv.trim())} is not TYPE=value ` +
            '(write "CN=name,O=org" or "/CN=name/O=org")',
        );
      }
      const rawType = atv.slice(0, eq).trim();
      const type = /^\d+(\.\d+)+$/.test(rawType) ? rawType : ATTRIBUTES[rawType.toLowerCase()];
      if (!type) {
        throw new Error(
          `subject ${JSON.stringify(subject)}: unknown attribute ${JSON.stringify(rawType)} ` +
            '(known: CN, O, OU, C, ST, L, DC, emailAddress, G, SN, T, serialNumber, UID, or a dotted OID)',
        );
      }
      const value = unescapeValue(slashForm ? atv.slice(eq + 1) : atv.slice(eq + 1).trim());
      if (value === '') throw new Error(`subject ${JSON.stringify(subject)}: ${rawType} has an empty value`);
      if (type === 'C' && !/^[A-Za-z]{2}$/.test(value)) {
        throw new Error(`subject ${JSON.stringify(subject)}: C must be a two-letter country code`);
      }
      // Typed values: given plain strings, @peculiar/x509 reads a leading '#' as hex DER and strips quotes and
      // backslashes a second time.
      (rdn[type] ??= []).push(
        IA5.has(type)
          ? { ia5String: value }
          : /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)
            ? { printableString: value }
            : { utf8String: value },
      );
    }
    json.push(rdn);
  }
  if (json.length === 0) throw new Error(`subject ${JSON.stringify(subject)} names no attribute`);
  return json as JsonNameParams;
}

/** A parsed subject alternative name in @peculiar/x509's JSON form. */
export interface JsonSan {
  type: 'dns' | 'ip' | 'url' | 'email';
  value: string;
}

/** Parses "DNS:x", "IP:127.0.0.1" / "IP:::1", "URI:spiffe://td/ns/x", "email:a@b" (prefix case-insensitive). */
export function parseSan(san: string): JsonSan {
  const colon = san.indexOf(':');
  const kind = colon > 0 ? san.slice(0, colon).trim().toLowerCase() : '';
  const value = colon > 0 ? san.slice(colon + 1).trim() : '';
  const bad = (why: string) =>
    new Error(
      `subject alternative name ${JSON.stringify(san)}: ${why} ` +
        '(write DNS:name, IP:127.0.0.1, IP:::1, URI:spiffe://trust-domain/path or email:user@host)',
    );
  if (!value) throw bad('expected TYPE:value');
  switch (kind) {
    case 'dns':
      if (
        !/^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(
          value,
        )
      )
        throw bad('not a DNS name');
      return { type: 'dns', value };
    case 'ip': {
      const ip = value.replace(/^\[(.*)\]$/, '$1');
      const version = isIP(ip);
      if (version === 0) throw bad('not an IPv4 or IPv6 address');
      // @peculiar/x509 mis-encodes IPv6 with an embedded IPv4 part (::ffff:1.2.3.4); the URL parser rewrites
      // that part as hex groups.
      return { type: 'ip', value: version === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip };
    }
    case 'uri':
    case 'url':
      if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) throw bad('a URI needs a scheme (e.g. spiffe://...)');
      return { type: 'url', value };
    case 'email':
      if (!/^[^@\s]+@[^@\s]+$/.test(value)) throw bad('not an email address');
      return { type: 'email', value };
    default:
      throw bad(`unknown type ${JSON.stringify(kind || san)}`);
  }
}
