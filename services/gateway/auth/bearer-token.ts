import { WS_SUBPROTOCOL } from '../../../shared/protocol/index.js';

/** Prefix of the WebSocket subprotocol that carries a token for browsers (`bearer.<jwt>`). */
export const BEARER_PROTOCOL_PREFIX = 'bearer.';

export interface OfferedCredentials {
  /** The bearer token, from `Authorization` or the subprotocol list; undefined when absent. */
  token: string | undefined;
  /** The subprotocol to echo: ours when offered, never the token-carrying one. */
  protocol: string;
}

/**
 * Reads the credentials a client offered (headers lower-cased). Browsers cannot set headers on a
 * WebSocket, so they offer `streamfabric.v1, bearer.<jwt>`: the server must answer with
 * `streamfabric.v1` only, or the token would be echoed back in the handshake response.
 */
export function offeredCredentials(headers: Record<string, string>): OfferedCredentials {
  const offered = (headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const fromProtocol = offered.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
  return {
    token:
      bearerFromAuthorization(headers.authorization) ?? fromProtocol?.slice(BEARER_PROTOCOL_PREFIX.length),
    protocol: offered.includes(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : '',
  };
}

/** `Bearer <token>` (scheme case-insensitive, RFC 6750); anything else is no token. */
export function bearerFromAuthorization(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(value);
  return m?.[1];
}
