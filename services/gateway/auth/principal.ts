/**
 * Who is asking: set once by authentication at upgrade time (or per HTTP request) and carried
 * by the connection. Every session operation checks it against the session's owner.
 */
export interface Principal {
  /** Tenant id: also a NATS subject token, so a tenant's events live under its own subjects. */
  tenant: string;
  /** User id (the token's `sub`); `anonymous` in dev mode. */
  user: string;
  /** Agents this user may start; undefined = any agent. */
  agents?: readonly string[];
  /** When the credential expires (epoch ms); the connection is closed after it. */
  expiresAt?: number;
}

/** The principal of dev mode: one shared anonymous user of the `public` tenant. */
export const ANONYMOUS: Principal = Object.freeze({ tenant: 'public', user: 'anonymous' });

/** Whether `p` may start a session of `agent` (the token's allowed-agents claim). */
export function mayUseAgent(p: Principal, agent: string): boolean {
  return p.agents === undefined || p.agents.includes(agent);
}

/** Whether `p` owns a session recorded with this tenant and user. */
export function owns(p: Principal, owner: { tenant: string; user: string }): boolean {
  return owner.tenant === p.tenant && owner.user === p.user;
}
