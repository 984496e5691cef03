import { z } from 'zod';

/** Commands the bench runner sends to a load-client process (validated on receipt). */
export const LoadCommand = z.discriminatedUnion('cmd', [
  z.object({ id: z.number(), cmd: z.literal('streams'), n: z.number().int().nonnegative() }),
  z.object({
    id: z.number(),
    cmd: z.literal('idle'),
    n: z.number().int().nonnegative(),
    thinkMs: z.number().int().positive(),
  }),
  z.object({ id: z.number(), cmd: z.literal('closeIdle') }),
  z.object({ id: z.number(), cmd: z.literal('reset') }),
  z.object({ id: z.number(), cmd: z.literal('report') }),
  z.object({
    id: z.number(),
    cmd: z.literal('reconnect'),
    fraction: z.number().min(0).max(1),
    gapMs: z.number().int().nonnegative(),
    timeoutMs: z.number().int().positive(),
  }),
  z.object({ id: z.number(), cmd: z.literal('drain'), timeoutMs: z.number().int().positive() }),
  z.object({ id: z.number(), cmd: z.literal('exit') }),
]);
export type LoadCommand = z.infer<typeof LoadCommand>;
/** A command without its correlation id, as the runner writes it. */
export type LoadRequest = LoadCommand extends infer C
  ? C extends LoadCommand
    ? Omit<C, 'id'>
    : never
  : never;

export const LoadProfileSchema = z.object({
  kind: z.enum(['fabric', 'socketio', 'centrifugo']),
  urls: z.array(z.string()).min(1),
  startUrls: z.array(z.string()).min(1).optional(),
  clientIndex: z.number().int().nonnegative(),
  length: z.number().int().positive(),
  tokensPerSecond: z.number().nonnegative(),
  flushIntervalMs: z.number().int().nonnegative(),
  thinkMs: z.number().int().nonnegative(),
  checkEvery: z.number().int().positive(),
  connectRate: z.number().positive(),
});
