/**
 * A small declarative flag parser: each command lists its flags once (name, type, default, help) and gets parsing,
 * validation that names the bad flag, and a --help text that shows every flag with its default.
 */
import { RouterError } from '../errors.js';

export type FlagType = 'string' | 'int' | 'number' | 'bool' | 'list';

export interface FlagSpec {
  name: string;
  type: FlagType;
  help: string;
  /** Shown in --help; undefined means "unset". */
  default?: string | number | boolean | string[];
  /** Allowed values (string flags). */
  choices?: readonly string[];
  /** Inclusive numeric range. */
  min?: number;
  max?: number;
  short?: string;
  /** Separator of `list` values (default ','). */
  separator?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpec[];
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function convert(spec: FlagSpec, raw: string): string | number | boolean | string[] {
  const bad = (why: string) =>
    new RouterError('ROUTER_ERR_CLI_BAD_VALUE', `--${spec.name} ${JSON.stringify(raw)}: ${why}`);
  switch (spec.type) {
    case 'bool': {
      if (['true', '1', 'yes', ''].includes(raw)) return true;
      if (['false', '0', 'no'].includes(raw)) return false;
      throw bad('expected true or false');
    }
    case 'int':
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw bad('expected a number');
      if (spec.type === 'int' && !Number.isInteger(n)) throw bad('expected an integer');
      if (spec.min !== undefined && n < spec.min) throw bad(`must be at least ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) throw bad(`must be at most ${spec.max}`);
      return n;
    }
    case 'list':
      return raw === '' ? [] : raw.split(spec.separator ?? ',').map((s) => s.trim());
    case 'string':
      if (spec.choices && !spec.choices.includes(raw))
        throw bad(`expected one of ${spec.choices.join(', ')}`);
      return raw;
  }
}

/** Parses argv (after the subcommand). Returns values keyed by camelCase name; `help` true when asked. */
export function parseFlags(
  cmd: CommandSpec,
  argv: readonly string[],
): { values: FlagValues; help: boolean; given: Set<string> } {
  const byName = new Map(cmd.flags.map((f) => [f.name, f]));
  const byShort = new Map(cmd.flags.filter((f) => f.short).map((f) => [f.short!, f]));
  const values: FlagValues = {};
  const given = new Set<string>();
  for (const f of cmd.flags) values[camel(f.name)] = f.default;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    let name: string;
    let inline: string | undefined;
    let spec: FlagSpec | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      spec = byName.get(name);
      if (!spec && name.startsWith('no-') && inline === undefined) {
        const positive = byName.get(name.slice(3));
        if (positive?.type === 'bool') {
          values[camel(positive.name)] = false;
          given.add(positive.name);
          continue;
        }
      }
    } else if (arg.startsWith('-') && arg.length === 2) {
      name = arg.slice(1);
      spec = byShort.get(name);
    } else {
      throw new RouterError(
        'ROUTER_ERR_CLI_UNKNOWN_FLAG',
        `tei-router ${cmd.name}: unexpected argument ${JSON.stringify(arg)} (see tei-router ${cmd.name} --help)`,
      );
    }
    if (!spec) {
      throw new RouterError(
        'ROUTER_ERR_CLI_UNKNOWN_FLAG',
        `tei-router ${cmd.name}: unknown flag ${arg.split('=')[0]} (see tei-router ${cmd.name} --help)`,
      );
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      if (
        spec.type === 'bool' &&
        (next === undefined || !['true', 'false', '1', '0', 'yes', 'no'].includes(next))
      ) {
        raw = 'true';
      } else {
        if (next === undefined) {
          throw new RouterError('ROUTER_ERR_CLI_BAD_VALUE', `--${spec.name} needs a value`);
        }
        raw = next;
        i++;
      }
    }
    values[camel(spec.name)] = convert(spec, raw);
    given.add(spec.name);
  }
  return { values, help, given };
}

export function helpText(cmd: CommandSpec): string {
  const rows = cmd.flags.map((f) => {
    const left = `  ${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.type === 'bool' ? '' : ` <${f.choices ? f.choices.join('|') : f.type}>`}`;
    const def =
      f.default === undefined
        ? '(default: unset)'
        : `(default: ${Array.isArray(f.default) ? f.default.join(',') || '[]' : String(f.default)})`;
    return { left, right: `${f.help} ${def}` };
  });
  const width = Math.min(44, Math.max(...rows.map((r) => r.left.length)) + 2);
  const lines = rows.map((r) =>
    r.left.length + 2 > width ? `${r.left}\n${' '.repeat(width)}${r.right}` : r.left.padEnd(width) + r.right,
  );
  return `${cmd.summary}\n\nUsage: ${cmd.usage}\n\nFlags:\n${lines.join('\n')}\n  -h, --help${' '.repeat(Math.max(1, width - 12))}Show this help\n`;
}
