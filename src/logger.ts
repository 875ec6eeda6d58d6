import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LOG_FORMATS } from './config';

export type { Logger };

/** `json` (JSON lines) or `pretty` (readable, coloured on a terminal). */
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * The program's structured logger (pino), writing to stderr so stdout stays for command output: JSON lines, or
 * through pino-pretty (synchronously, so lines keep their order beside progress output). The format defaults
 * to pretty when stderr is a terminal (`LOG_FORMAT` overrides).
 */
export function createLogger(
  level: string = 'info',
  bindings: Record<string, unknown> = {},
  format: LogFormat | undefined = undefined,
): Logger {
  const tty = Boolean(process.stderr.isTTY);
  const options = { level, base: { service: 'dpod-audit-gateway', ...bindings } };
  if ((format ?? (tty ? 'pretty' : 'json')) === 'json') return pino(options, pino.destination(2));
  return pino(options, pretty({ destination: 2, sync: true, colorize: tty, ignore: 'pid,hostname,service' }));
}
