/** The `tei-router` command: subcommand dispatch, --help, and one clear line for every startup error. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RouterError } from '../errors.js';
import { packageRoot } from '../paths.js';
import type { CommandSpec } from './flags.js';
import { helpText, parseFlags } from './flags.js';
import { certsCommand, certsHelp, runCerts } from './certs.js';
import { simCommand, simOptionsFromFlags } from './sim.js';
import { configFromFlags, serveCommand } from './serve.js';
import { getProcessLogger } from '../log.js';
import { benchClientCommand, runBenchClient } from './bench-client.js';

interface Subcommand {
  spec: CommandSpec;
  /** Resolves with the exit status (undefined: 0). */
  run: (argv: string[]) => Promise<number | void>;
  /** --help text when the command has sub-commands of its own (default: the spec's). */
  help?: (argv: string[]) => string;
}

const subcommands: Record<string, Subcommand> = {
  sim: { spec: simCommand, run: runSim },
  serve: { spec: serveCommand, run: runServe },
  certs: { spec: certsCommand, run: runCerts, help: certsHelp },
  'bench-client': { spec: benchClientCommand, run: runBenchClient },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function topHelp(): string {
  const rows = Object.values(subcommands).map((s) => `  ${s.spec.name.padEnd(14)}${s.spec.summary}`);
  return (
    `tei-router ${version()}: an mTLS-first embedding router for HuggingFace TEI fleets\n\n` +
    `Usage: tei-router <command> [flags]\n\nCommands:\n${rows.join('\n')}\n\n` +
    `Run \`tei-router <command> --help\` for a command's flags and their defaults.\n`
  );
}

async function runServe(argv: string[]): Promise<void> {
  const { values, help, given } = parseFlags(serveCommand, argv);
  if (help) {
    process.stdout.write(helpText(serveCommand));
    return;
  }
  const config = configFromFlags(values, given);
  const { startApp } = await import('../app.js');
  const app = await startApp(config);
  // first signal: drain (answer what was accepted), then close; a second signal closes at once
  let stopping = false;
  const stop = () => {
    if (stopping) {
      void app.close().then(() => process.exit(0));
      return;
    }
    stopping = true;
    void app
      .drain(config.shutdown.drainTimeoutMs)
      .then(() => app.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // SIGHUP: read the config file and environment again and apply what can change without a restart
  let reloading: Promise<void> = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading.then(async () => {
      try {
        await app.reload(configFromFlags(values, given));
      } catch (err) {
        getProcessLogger().error(
          `tei-router: config reload failed, the running config stays: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    });
  });
}

async function runSim(argv: string[]): Promise<void> {
  const { startSim } = await import('../sim/index.js');
  const { values, help } = parseFlags(simCommand, argv);
  if (help) {
    process.stdout.write(helpText(simCommand));
    return;
  }
  const options = simOptionsFromFlags(values);
  let sim;
  try {
    sim = await startSim(options);
  } catch (err) {
    if (err instanceof RouterError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new RouterError('ROUTER_ERR_SIM_CONFIG', `tei-router sim: ${message}`, { cause: err });
  }
  const o = sim.options;
  const tokenizer = o.tokenizer
    ? `tokenizer ${o.tokenizer}`
    : 'estimated tokenization (no --tokenizer given)';
  console.log(
    `tei-router sim: simulated TEI ${o.teiVersion} (${o.protocol}) serving ${o.modelId} ` +
      `[${o.modelType}, ${o.dim}-d, ${tokenizer}] on ${sim.url}`,
  );
  const stop = () => {
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const sub = subcommands[name];
  try {
    if (!sub) {
      throw new RouterError(
        'ROUTER_ERR_CLI_UNKNOWN_COMMAND',
        `tei-router: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(subcommands).join(', ')}`,
      );
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(sub.help ? sub.help(rest) : helpText(sub.spec));
      return 0;
    }
    return (await sub.run(rest)) ?? 0;
  } catch (err) {
    if (err instanceof RouterError) {
      process.stderr.write(`${err.message} [${err.code}]\n`);
      return 2;
    }
    throw err;
  }
}
