import { z } from 'zod';

/**
 * A session id. It is used verbatim as a NATS subject token and a KV key, so it is
 * restricted to characters both accept (no dots, no wildcards, no spaces).
 * @example "s_3f9c2a7d1b"
 */
export const SessionId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, 'session id must be 8-64 characters of A-Z a-z 0-9 _ -');
export type SessionId = z.infer<typeof SessionId>;

/** A tenant name, also a NATS subject token. `public` when auth is off. */
export const TenantId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'tenant must be 1-64 characters of A-Z a-z 0-9 _ -');
export type TenantId = z.infer<typeof TenantId>;

/** An agent name: selects which worker pool runs the session (`builtin`, `openai`, an AutoGen team, ...). */
export const AgentName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,63}$/,
    'agent must be 1-64 characters of a-z 0-9 _ - (starting with a letter or digit)',
  );
export type AgentName = z.infer<typeof AgentName>;

/** A per-session event position: the first event is 1, and there are never gaps. */
export const Seq = z.number().int().min(1);
export type Seq = z.infer<typeof Seq>;

// Zod-free, so the browser client can import them without the schema library.
export { PROTOCOL_VERSION, WS_SUBPROTOCOL } from './wire-constants.js';
