/**
 * Wire constants with no zod dependency, so the browser client can import them without
 * pulling the schema library into its bundle. `ids.ts` and `errors.ts` re-export them.
 */

/** The protocol version spoken on the wire; bumped only on breaking changes. */
export const PROTOCOL_VERSION = 1;
/** WebSocket subprotocol name carrying the version. */
export const WS_SUBPROTOCOL = 'streamfabric.v1';

/**
 * WebSocket close codes. 1xxx are the standard ones we use; 4000-4099 are terminal (do not
 * reconnect with the same credentials); 4100-4199 ask the client to reconnect (any gateway).
 */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
  unauthenticated: 4001,
  forbidden: 4003,
  rateLimited: 4008,
  badProtocol: 4002,
  reconnect: 4100,
  heartbeatTimeout: 4101,
  slowConsumer: 4102,
  /** The connection's token expired: reconnect with a fresh one. */
  tokenExpired: 4103,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Whether a client should reconnect after the server closed with this code. */
export function shouldReconnect(code: number): boolean {
  if (code >= 4000 && code < 4100) return false;
  if (code === CloseCode.policyViolation || code === CloseCode.messageTooBig) return false;
  return true;
}
