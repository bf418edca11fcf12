/**
 * The router's logs: structured JSON lines through pino (`log.format = "json"`, the default) or one readable line
 * per event (`"text"`), at `log.level`. Lines written while a request is being served carry its `request_id`
 * (from the request scope), so every line of a request can be found. Modules log through the `Logger` interface;
 * tests pass a line function instead (`lineLogger`).
 */
import pino from 'pino';
import { currentScope } from './request-scope.js';
import type { LogLevel } from './config.js';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: 99,
};

function withRequest(fields: LogFields | undefined): LogFields | undefined {
  const id = currentScope()?.id;
  if (id === undefined || (fields && 'request_id' in fields)) return fields;
  return { request_id: id, ...fields };
}

/** A pino logger writing JSON lines to `destination` (default stdout). */
export function jsonLogger(level: LogLevel, destination: NodeJS.WritableStream = process.stdout): Logger {
  const p = pino(
    { level, base: { name: 'tei-router' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination as pino.DestinationStream,
  );
  const at =
    (fn: 'debug' | 'info' | 'warn' | 'error') =>
    (msg: string, fields?: LogFields): void => {
      const f = withRequest(fields);
      if (f) p[fn](f, msg);
      else p[fn](msg);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * One plain line per event: the message, then the fields as JSON when there are any. With `level` set, lines below
 * it are dropped; `prefix` marks warnings and errors (`warning: `, `error: `) in text output.
 */
export function lineLogger(write: (line: string) => void, level: LogLevel = 'trace', prefix = false): Logger {
  const at =
    (name: 'debug' | 'info' | 'warn' | 'error') =>
    (msg: string, fields?: LogFields): void => {
      if (RANK[name] < RANK[level]) return;
      const f = withRequest(fields);
      const lead =
        prefix && (name === 'warn' || name === 'error') ? `${name === 'warn' ? 'warning' : 'error'}: ` : '';
      write(f ? `${lead}${msg} ${JSON.stringify(f)}` : `${lead}${msg}`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function createLogger(level: LogLevel, format: 'json' | 'text'): Logger {
  return format === 'json'
    ? jsonLogger(level)
    : lineLogger((line) => process.stdout.write(line + '\n'), level, true);
}

/** The logger for code that has no logger handed to it (unexpected errors); the app sets it at startup. */
let processLogger: Logger = lineLogger((line) => process.stderr.write(line + '\n'), 'info', true);

export function setProcessLogger(l: Logger): void {
  processLogger = l;
}

export function getProcessLogger(): Logger {
  return processLogger;
}
