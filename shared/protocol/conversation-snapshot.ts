import { z } from 'zod';
import { SessionId, TenantId } from './ids.js';

/** Version of the snapshot format; a reader ignores (and falls back from) any other. */
export const SNAPSHOT_VERSION = 1;

const InputExchangeSchema = z.object({
  requestId: z.string(),
  prompt: z.string(),
  options: z.array(z.string()).optional(),
  deadline: z.number().optional(),
  agent: z.string().optional(),
  answer: z.string().optional(),
  seq: z.number().int().nonnegative(),
});

const TurnSchema = z.object({
  turn: z.number().int().min(1),
  user: z.string(),
  assistant: z.string(),
  messages: z.array(z.object({ agent: z.string(), text: z.string(), role: z.string().optional() })),
  inputs: z.array(InputExchangeSchema),
  outcome: z.enum(['done', 'error', 'cancelled']).optional(),
  finishReason: z.string().optional(),
  startSeq: z.number().int().nonnegative(),
});

/** A folded conversation (the JSON form of `Conversation` in conversation.ts). */
export const ConversationSchema = z.object({
  turns: z.array(TurnSchema),
  lastSeq: z.number().int().nonnegative(),
});

/**
 * The folded conversation of a session up to (and including) event `seq`, stored at `streamSeq`
 * of the EVENTS stream. Written once per finished turn by whichever worker or bridge ran it;
 * read with the log's tail after it. `streamSeq` anchors it to one log: a reader checks that the
 * stored message at `streamSeq` is still event `seq` of this session (a purged and rewritten log
 * fails the check) and that the tail continues at `seq + 1`, else it reads the whole log.
 */
export const ConversationSnapshot = z.object({
  v: z.literal(SNAPSHOT_VERSION),
  tenant: TenantId,
  sid: SessionId,
  seq: z.number().int().min(1),
  streamSeq: z.number().int().min(1),
  /** Producer clock (ms), for operators only: validity never depends on it. */
  writtenAt: z.number().int().nonnegative(),
  conversation: ConversationSchema,
});
export type ConversationSnapshot = z.infer<typeof ConversationSnapshot>;
