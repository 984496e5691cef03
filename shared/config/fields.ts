import { z } from 'zod';

/** Reusable env field parsers: env values are strings, these coerce and bound them. */
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
export const positiveInt = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(1).max(max).default(fallback);
export const nonNegativeInt = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(0).max(max).default(fallback);
export const nonNegativeNumber = (fallback: number) => z.coerce.number().min(0).default(fallback);
export const boolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
export const csv = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    );
export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');
/**
 * `name=agent` pairs separated by commas (SOCKETIO_AGENTS), kept as the pairs' text so the docs
 * table shows the default as written; the gateway turns them into a map.
 */
export const agentMap = (fallback: string) =>
  csv(fallback).pipe(
    z.array(
      z
        .string()
        .regex(
          /^[A-Za-z0-9_-]{1,64}=[a-z0-9][a-z0-9_-]{0,63}$/,
          'expected name=agent pairs (agent: a-z 0-9 _ -), e.g. assistant=builtin,user_proxy=openai',
        ),
    ),
  );
