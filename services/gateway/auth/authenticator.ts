import type { ErrorBody } from '../../../shared/protocol/index.js';
import type { Principal } from './principal.js';

/** The outcome of checking a credential: a principal, or a typed `unauthenticated` error. */
export type AuthResult = { ok: true; principal: Principal } | { ok: false; error: ErrorBody };

/**
 * Turns a bearer token (or its absence) into a principal. Implementations never throw for a
 * bad token: they answer with `unauthenticated` and a reason safe to show the client.
 */
export interface Authenticator {
  /** `dev` or `jwt`, for logs and `/v1/whoami`. */
  readonly mode: 'dev' | 'jwt';
  authenticate(token: string | undefined): Promise<AuthResult>;
}
