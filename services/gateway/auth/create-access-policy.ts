import type { GatewayConfig } from '../../../shared/config/gateway-config.js';
import type { Logger } from '../../../shared/logging/logger.js';
import { AccessPolicy } from './access-policy.js';
import type { Authenticator } from './authenticator.js';
import { DevAuthenticator } from './dev-authenticator.js';
import { JoseAuthenticator, readJwksFile } from './jose-authenticator.js';
import { OriginPolicy } from './origin-policy.js';

/** Builds the authenticator the config asks for (config cross-checks already ran). */
export function createAuthenticator(config: GatewayConfig, log: Logger): Authenticator {
  if (config.AUTH_MODE === 'dev') {
    // Loud on purpose: this must never be mistaken for a production setting.
    log.warn(
      { authMode: 'dev', host: config.WEBSOCKET_HOST },
      'AUTH_MODE=dev: NO AUTHENTICATION, every client is the anonymous user of tenant "public"; loopback only, never use in production (set AUTH_MODE=jwt)',
    );
    return new DevAuthenticator();
  }
  const sources = [
    config.AUTH_JWT_SECRET ? 'secret' : null,
    config.AUTH_JWKS_FILE ? 'jwks-file' : null,
    config.AUTH_JWKS_URL ? 'jwks-url' : null,
  ].filter(Boolean);
  log.info(
    { authMode: 'jwt', keys: sources, issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE },
    'JWT authentication enabled',
  );
  return new JoseAuthenticator({
    ...(config.AUTH_JWT_SECRET ? { secret: config.AUTH_JWT_SECRET } : {}),
    ...(config.AUTH_JWKS_FILE ? { jwks: readJwksFile(config.AUTH_JWKS_FILE) } : {}),
    ...(config.AUTH_JWKS_URL && !config.AUTH_JWKS_FILE ? { jwksUrl: config.AUTH_JWKS_URL } : {}),
    algorithms: config.AUTH_ALGORITHMS,
    ...(config.AUTH_ISSUER ? { issuer: config.AUTH_ISSUER } : {}),
    ...(config.AUTH_AUDIENCE ? { audience: config.AUTH_AUDIENCE } : {}),
    tenantClaim: config.AUTH_TENANT_CLAIM,
    ...(config.AUTH_DEFAULT_TENANT ? { defaultTenant: config.AUTH_DEFAULT_TENANT } : {}),
    agentsClaim: config.AUTH_AGENTS_CLAIM,
    clockToleranceSeconds: config.AUTH_CLOCK_TOLERANCE_SECONDS,
  });
}

/** The gateway's access policy: origins (CORS_ORIGINS) + authentication. */
export function createAccessPolicy(config: GatewayConfig, log: Logger): AccessPolicy {
  return new AccessPolicy(createAuthenticator(config, log), new OriginPolicy(config.CORS_ORIGINS), {
    loopbackHostOnly: config.AUTH_MODE === 'dev',
  });
}
