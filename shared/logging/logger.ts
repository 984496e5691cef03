import { createRequire } from 'node:module';
import { type Logger, pino } from 'pino';

export type { Logger };

/** pino-pretty is a dev dependency: production images do not have it. */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates the process's root logger: JSON lines (one constant `msg` plus fields), or
 * pino-pretty output in development (LOG_PRETTY; ignored with a warning where pino-pretty is
 * not installed, so a production image never fails on it). Child loggers carry `sid`,
 * `tenant`, `conn`; `base` carries the `gateway`/`worker` id on every line.
 */
export function createLogger(opts: {
  name: string;
  level: string;
  pretty?: boolean;
  base?: Record<string, unknown>;
}): Logger {
  const pretty = opts.pretty === true && prettyAvailable();
  const options = {
    name: opts.name,
    level: opts.level,
    base: { pid: process.pid, ...opts.base },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const log = pretty
    ? pino({
        ...options,
        transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l' } },
      })
    : // Asynchronous writes: pino's default (synchronous) destination busy-waits 100 ms whenever
      // stdout's pipe is full (EAGAIN), stalling every stream of the process; profiles of a
      // loaded worker showed it. Lines still in the buffer are flushed when the process exits.
      pino(options, pino.destination({ dest: 1, sync: false }));
  if (opts.pretty && !pretty) log.warn('LOG_PRETTY ignored: pino-pretty is not installed (JSON logs)');
  return log;
}
