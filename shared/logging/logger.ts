import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Creates the process's root logger: JSON lines (one constant `msg` plus fields), or
 * pino-pretty output in development. Child loggers carry `sid`, `tenant`, `gateway`/`worker`.
 */
export function createLogger(opts: {
  name: string;
  level: string;
  pretty?: boolean;
  base?: Record<string, unknown>;
}): Logger {
  return pino({
    name: opts.name,
    level: opts.level,
    base: { pid: process.pid, ...opts.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(opts.pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l' } } }
      : {}),
  });
}
