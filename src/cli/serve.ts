/** `tei-router serve`: every config key as a flag (plus --config), then the app until SIGINT/SIGTERM. */
import type { KeyValue, RouterConfig } from '../config.js';
import { KEYS, LIST_SEPARATOR, envName, flagName, loadConfig } from '../config.js';
import type { CommandSpec, FlagSpec, FlagValues } from './flags.js';
import { camel } from './flags.js';

const flagType = { port: 'int', enum: 'string' } as const;

const keyFlags: FlagSpec[] = KEYS.map((k) => ({
  name: flagName(k.path).slice(2),
  type: k.type === 'port' || k.type === 'enum' ? flagType[k.type] : k.type,
  default: k.default,
  ...(k.choices ? { choices: k.choices } : {}),
  ...(k.type === 'list' ? { separator: LIST_SEPARATOR } : {}),
  help: `${k.doc} [${k.path}, ${envName(k.path)}]`,
  ...(k.type === 'port' ? { min: 0, max: 65535 } : k.min !== undefined ? { min: k.min } : {}),
}));

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary:
    'Run the router in front of TEI backends (with no models configured: an embedded simulated backend).',
  usage: 'tei-router serve [--config router.toml] [flags]',
  flags: [{ name: 'config', type: 'string', help: 'TOML config file (also TEI_ROUTER_CONFIG)' }, ...keyFlags],
};

/** Config from flags + env + file. Only flags actually given override (defaults live in config.ts). */
export function configFromFlags(
  values: FlagValues,
  given: ReadonlySet<string>,
  env = process.env,
): RouterConfig {
  const flags: Record<string, KeyValue> = {};
  for (const k of KEYS) {
    const name = flagName(k.path).slice(2);
    const v = values[camel(name)];
    if (given.has(name) && v !== undefined) flags[k.path] = v;
  }
  const file = (values.config as string | undefined) ?? env.TEI_ROUTER_CONFIG;
  return loadConfig({ file: file || undefined, env, flags });
}
