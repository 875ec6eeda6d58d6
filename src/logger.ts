import pino, { type Logger } from 'pino';

export type { Logger };

/** The program's structured JSON logger (pino), writing to stderr so stdout stays for command output. */
export function createLogger(level: string = 'info', bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'dpod-audit-gateway', ...bindings } }, pino.destination(2));
}
