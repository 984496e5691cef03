import type { Authenticator, AuthResult } from './authenticator.js';
import { ANONYMOUS } from './principal.js';

/**
 * Development mode: everyone is the anonymous user of tenant `public`, token or not. The
 * gateway config refuses this mode on a non-loopback address, and the gateway logs a warning.
 */
export class DevAuthenticator implements Authenticator {
  readonly mode = 'dev' as const;
  async authenticate(): Promise<AuthResult> {
    return { ok: true, principal: ANONYMOUS };
  }
}
