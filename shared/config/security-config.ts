import { z } from 'zod';
import { csv, nonNegativeInt, positiveInt } from './fields.js';

/**
 * The gateway's security settings: authentication, origins and abuse limits. Spread into
 * {@link GatewayConfig}; {@link checkSecurityConfig} cross-checks them so that a gateway
 * that would be open to the network without authentication refuses to start.
 */
export const SecurityConfigShape = {
  /**
   * `dev`: every client is the anonymous user of tenant `public` (loopback only, loud in the log).
   * `jwt`: every WebSocket upgrade and API request needs a valid JWT. Production must use `jwt`.
   */
  AUTH_MODE: z.enum(['dev', 'jwt']).default('dev'),
  /** HS256 shared secret (at least 32 characters). */
  AUTH_JWT_SECRET: z.string().optional(),
  /** Path of a JWKS file holding public keys (RS256, ES256, PS256, EdDSA). */
  AUTH_JWKS_FILE: z.string().optional(),
  /** URL of a JWKS endpoint (fetched and cached; keys rotate without a restart). */
  AUTH_JWKS_URL: z.url().optional(),
  /** Accepted algorithms, comma separated; empty = derived from the key source. */
  AUTH_ALGORITHMS: csv(''),
  /** Required `iss` claim, when set. */
  AUTH_ISSUER: z.string().optional(),
  /** Required `aud` claim, when set. */
  AUTH_AUDIENCE: z.string().optional(),
  /** Claim holding the tenant id (a NATS subject token: A-Z a-z 0-9 _ -). */
  AUTH_TENANT_CLAIM: z.string().default('tenant'),
  /** Tenant used when a token has no tenant claim (single-tenant deployments); unset = such tokens are refused. */
  AUTH_DEFAULT_TENANT: z.string().optional(),
  /** Claim listing the agents the user may start (array or space-separated); absent = any agent. */
  AUTH_AGENTS_CLAIM: z.string().default('agents'),
  /** Clock skew tolerated on `exp`/`nbf` (seconds). */
  AUTH_CLOCK_TOLERANCE_SECONDS: nonNegativeInt(5, 300),
  /**
   * Browser origins allowed on the upgrade and on HTTP: `self` (same origin as the Host header),
   * `loopback` (http(s)://localhost|127.0.0.1|[::1] on any port), `*` (any), exact origins, or
   * wildcards like `https://*.example.com`. Requests without an Origin header (non-browser) pass.
   */
  CORS_ORIGINS: csv('self,loopback'),
  /** Client frames per second per connection (token bucket refill rate). */
  RATE_LIMIT_FRAMES_PER_SECOND: positiveInt(50),
  /** Token bucket size: frames a client may send in a burst (>= sessions it resumes at once). */
  RATE_LIMIT_BURST: positiveInt(200),
  /** Frames rejected in a row with `rate_limited` before the connection is closed with 4008. */
  RATE_LIMIT_CLOSE_AFTER: positiveInt(100),
  /** Sessions one user may have queued or running at once, across all gateways (0 = no limit; jwt mode only). */
  MAX_SESSIONS_PER_USER: nonNegativeInt(100),
  /** Longest user text accepted in `start`, `message` and `input` (characters); longer gets `limit_exceeded`. */
  MAX_INPUT_CHARS: positiveInt(100_000, 100_000),
} as const;

const SecurityConfig = z.object(SecurityConfigShape);
type SecuritySettings = z.infer<typeof SecurityConfig> & { WEBSOCKET_HOST: string };

/** Whether a listen address only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Cross-checks: dev mode only on loopback; jwt mode needs a key source; a short HS256 secret is
 * refused (it can be brute-forced offline from any token). Issues name the variable to fix.
 */
export function checkSecurityConfig(c: SecuritySettings, ctx: z.RefinementCtx): void {
  if (c.AUTH_MODE === 'dev' && !isLoopbackHost(c.WEBSOCKET_HOST)) {
    ctx.addIssue({
      code: 'custom',
      path: ['WEBSOCKET_HOST'],
      message: `AUTH_MODE=dev accepts anonymous clients, so the gateway refuses to listen on a non-loopback address (${c.WEBSOCKET_HOST}); set AUTH_MODE=jwt with AUTH_JWT_SECRET, AUTH_JWKS_FILE or AUTH_JWKS_URL`,
    });
  }
  if (c.AUTH_MODE === 'jwt' && !c.AUTH_JWT_SECRET && !c.AUTH_JWKS_FILE && !c.AUTH_JWKS_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['AUTH_MODE'],
      message: 'AUTH_MODE=jwt needs a key: set AUTH_JWT_SECRET, AUTH_JWKS_FILE or AUTH_JWKS_URL',
    });
  }
  if (c.AUTH_JWT_SECRET !== undefined && c.AUTH_JWT_SECRET.length < 32) {
    ctx.addIssue({
      code: 'custom',
      path: ['AUTH_JWT_SECRET'],
      message: 'the HS256 secret must be at least 32 characters',
    });
  }
}
