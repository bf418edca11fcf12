/**
 * Strict JSON body reading with the error texts TEI's HTTP framework (axum 0.7 + serde_json + serde_path_to_error)
 * produces, so that TEI-style clients see the same rejections from the simulator and from the router:
 *   400 `Failed to parse the request body as JSON: …`
 *   422 `Failed to deserialize the JSON body into the target type: <path>: <serde message> at line L column C`
 * Only the shape of a message and the serde wording are reproduced; V8's own parse diagnostics differ from serde's.
 */

export class JsonRejection extends Error {
  readonly status: 400 | 422;
  constructor(status: 400 | 422, message: string) {
    super(message);
    this.name = 'JsonRejection';
    this.status = status;
  }
}

/** Where a top-level member's value ends in the raw text, and its raw text (to tell `1` from `1.0`). */
interface MemberSpan {
  end: number;
  raw: string;
}

export interface JsonDoc {
  readonly value: unknown;
  /** Position just after the document (serde reports missing fields there). */
  readonly end: number;
  readonly text: string;
  readonly members: Map<string, MemberSpan>;
}

export function parseJson(text: string): JsonDoc {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new JsonRejection(400, `Failed to parse the request body as JSON: ${detail}`);
  }
  const trimmed = text.trimEnd();
  return { value, end: trimmed.length, text, members: scanTopLevel(text) };
}

/** serde's "line L column C" for a character offset (1-based line; column counts from 1 on the line). */
export function lineColumn(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line} column ${offset - lineStart}`;
}

/** Records, for each member of a top-level object, where its value ends. Non-objects give an empty map. */
function scanTopLevel(text: string): Map<string, MemberSpan> {
  const members = new Map<string, MemberSpan>();
  let i = skipWs(text, 0);
  if (text[i] !== '{') return members;
  i++;
  for (;;) {
    i = skipWs(text, i);
    if (text[i] !== '"') return members;
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (text[i] !== ':') return members;
    const valueStart = skipWs(text, i + 1);
    const valueEnd = skipValue(text, valueStart);
    members.set(key, { end: valueEnd, raw: text.slice(valueStart, valueEnd) });
    i = skipWs(text, valueEnd);
    if (text[i] !== ',') return members;
    i++;
  }
}

function skipWs(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    i++;
  }
  return i;
}

function skipString(text: string, i: number): number {
  i++;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 92) i += 2;
    else if (c === 34) return i + 1;
    else i++;
  }
  return i;
}

function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    while (i < text.length) {
      const ch = text[i];
      if (ch === '"') {
        i = skipString(text, i);
        continue;
      }
      if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  while (i < text.length && !',}] \t\r\n'.includes(text[i])) i++;
  return i;
}

/** serde's description of an unexpected JSON value ("string \"x\"", "integer `1`", "sequence", ...). */
export function describe(value: unknown, raw?: string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return `boolean \`${value}\``;
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (typeof value === 'number') {
    const isFloat = raw !== undefined ? /[.eE]/.test(raw) : !Number.isInteger(value);
    return isFloat ? `floating point \`${formatFloat(value)}\`` : `integer \`${value}\``;
  }
  if (Array.isArray(value)) return 'sequence';
  return 'map';
}

function formatFloat(v: number): string {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/** A problem with one field: serde's message, with the field's path. */
export class FieldError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export const expected = {
  bool: 'a boolean',
  u32: 'u32',
  usize: 'usize',
  string: 'a string',
} as const;

export function invalidType(path: string, value: unknown, what: string, raw?: string): FieldError {
  return new FieldError(path, `invalid type: ${describe(value, raw)}, expected ${what}`);
}

/**
 * Reads the members of a top-level JSON object as serde would for a struct: unknown members are ignored, `null`
 * on an `Option` is "unset", type errors name the member.
 */
export class StructReader {
  private readonly obj: Record<string, unknown>;
  constructor(
    private readonly doc: JsonDoc,
    private readonly typeName: string,
  ) {
    const v = doc.value;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      const what = `struct ${typeName}`;
      throw this.reject(new FieldError('', `invalid type: ${describe(v)}, expected ${what}`), doc.end);
    }
    this.obj = v as Record<string, unknown>;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  /** Required member; `read` throws a FieldError (path relative to this member) on a bad value. */
  required<T>(key: string, read: (value: unknown, raw: string | undefined) => T): T {
    if (!(key in this.obj)) throw this.reject(new FieldError('', `missing field \`${key}\``), this.doc.end);
    return this.field(key, read);
  }

  /** Optional member: absent or null gives `fallback`. */
  optional<T, F>(key: string, read: (value: unknown, raw: string | undefined) => T, fallback: F): T | F {
    const v = this.obj[key];
    if (v === undefined || v === null) return fallback;
    return this.field(key, read);
  }

  /** A non-Option member with a serde default: absent gives `fallback`, null is a type error. */
  defaulted<T>(key: string, read: (value: unknown, raw: string | undefined) => T, fallback: T): T {
    if (!(key in this.obj)) return fallback;
    return this.field(key, read);
  }

  private field<T>(key: string, read: (value: unknown, raw: string | undefined) => T): T {
    const span = this.doc.members.get(key);
    try {
      return read(this.obj[key], span?.raw);
    } catch (err) {
      if (err instanceof FieldError) {
        const path = err.path ? `${key}.${err.path}` : key;
        throw this.reject(new FieldError(path, err.message), span?.end ?? this.doc.end);
      }
      throw err;
    }
  }

  private reject(err: FieldError, offset: number): JsonRejection {
    const where = lineColumn(this.doc.text, offset);
    const path = err.path ? `${err.path}: ` : '';
    return new JsonRejection(
      422,
      `Failed to deserialize the JSON body into the target type: ${path}${err.message} at ${where}`,
    );
  }
}

export function readBool(value: unknown, raw?: string): boolean {
  if (typeof value !== 'boolean') throw invalidType('', value, expected.bool, raw);
  return value;
}

export function readString(value: unknown, raw?: string): string {
  if (typeof value !== 'string') throw invalidType('', value, expected.string, raw);
  return value;
}

function isIntegerRaw(value: unknown, raw: string | undefined): value is number {
  return typeof value === 'number' && Number.isInteger(value) && (raw === undefined || !/[.eE]/.test(raw));
}

export function readU32(value: unknown, raw?: string): number {
  if (isIntegerRaw(value, raw)) {
    if (value < 0 || value > 0xffffffff) {
      throw new FieldError('', `invalid value: integer \`${value}\`, expected u32`);
    }
    return value;
  }
  throw invalidType('', value, expected.u32, raw);
}

export function readUsize(value: unknown, raw?: string): number {
  if (isIntegerRaw(value, raw)) {
    if (value < 0 || !Number.isSafeInteger(value)) {
      throw new FieldError('', `invalid value: integer \`${value}\`, expected usize`);
    }
    return value;
  }
  throw invalidType('', value, expected.usize, raw);
}

/** True for a JSON number that deserialises as u32 (used by untagged enums, which never report the inner error). */
export function isU32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

export function readStringArray(value: unknown): string[] {
  if (!Array.isArray(value)) throw invalidType('', value, 'a sequence');
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string')
      throw new FieldError(String(i), invalidType('', value[i], expected.string).message);
  }
  return value as string[];
}
