import type { HttpRequestInfo, HttpResult } from '../transport/connection.js';
import { principalOf } from './access-policy.js';

/**
 * `GET /v1/whoami`: the principal the gateway sees for the caller's token (tenant, user, allowed
 * agents, expiry). Lets a client check its credentials before opening a WebSocket.
 */
export function whoami(req: HttpRequestInfo): HttpResult {
  const p = principalOf(req);
  if (!p)
    return { status: 500, body: '{"error":{"code":"internal","message":"no principal","retryable":true}}' };
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify({
      tenant: p.tenant,
      user: p.user,
      ...(p.agents ? { agents: p.agents } : {}),
      ...(p.expiresAt ? { expiresAt: p.expiresAt } : {}),
    }),
  };
}
