import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { type ErrorBody, errorBody, TenantId } from '../../../shared/protocol/index.js';
import type { Authenticator, AuthResult } from './authenticator.js';
import type { Principal } from './principal.js';

export interface JoseAuthenticatorOptions {
  /** HS256 shared secret. */
  secret?: string;
  /** A JWKS document (already read from a file). */
  jwks?: { keys: unknown[] };
  /** A JWKS endpoint, fetched on demand and cached (key rotation without restart). */
  jwksUrl?: string;
  /** Allowed `alg` values; default: HS256 with a secret, asymmetric ones with a JWKS. */
  algorithms?: string[];
  issuer?: string;
  audience?: string;
  tenantClaim?: string;
  defaultTenant?: string;
  agentsClaim?: string;
  clockToleranceSeconds?: number;
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Longer tokens are refused unparsed: a cheap guard against oversized credentials. */
const MAX_TOKEN_CHARS = 8192;

/** Reads a JWKS file once at start, failing loudly (a gateway with no keys must not start). */
export function readJwksFile(path: string): { keys: unknown[] } {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { keys?: unknown };
  if (!Array.isArray(doc.keys)) throw new Error(`AUTH_JWKS_FILE ${path}: not a JWKS document (no "keys")`);
  return { keys: doc.keys };
}

/**
 * Verifies JWTs with `jose`: signature (HS256 secret and/or JWKS keys chosen by `alg`), `exp`
 * (required), `nbf`, issuer and audience, then maps claims to a {@link Principal}: `sub` is the
 * user, a configurable claim the tenant, another the agents the user may start.
 * @example
 * const auth = new JoseAuthenticator({ secret: process.env.AUTH_JWT_SECRET });
 * const r = await auth.authenticate(token); // { ok: true, principal: { tenant, user } }
 */
export class JoseAuthenticator implements Authenticator {
  readonly mode = 'jwt' as const;
  private readonly getKey: JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(private readonly o: JoseAuthenticatorOptions) {
    const secret = o.secret ? new TextEncoder().encode(o.secret) : undefined;
    const jwks = o.jwks
      ? createLocalJWKSet(o.jwks as Parameters<typeof createLocalJWKSet>[0])
      : o.jwksUrl
        ? createRemoteJWKSet(new URL(o.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000 })
        : undefined;
    if (!secret && !jwks) throw new Error('JoseAuthenticator needs a secret, a JWKS or a JWKS URL');
    const derived = [...(secret ? ['HS256'] : []), ...(jwks ? ASYMMETRIC : [])];
    this.algorithms = o.algorithms && o.algorithms.length > 0 ? o.algorithms : derived;
    // The key is chosen by the token's alg, so an RS256 public key can never be used as an HMAC
    // secret (the classic algorithm-confusion attack).
    this.getKey = async (header: JWSHeaderParameters, token) => {
      if (header.alg?.startsWith('HS')) {
        if (!secret) throw new UnauthenticatedError('HMAC tokens are not accepted here');
        return secret;
      }
      if (!jwks) throw new UnauthenticatedError('asymmetric tokens are not accepted here (no JWKS)');
      return jwks(header, token);
    };
  }

  async authenticate(token: string | undefined): Promise<AuthResult> {
    if (!token) return fail('missing bearer token');
    if (token.length > MAX_TOKEN_CHARS) return fail(`token longer than ${MAX_TOKEN_CHARS} characters`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.getKey, {
        algorithms: this.algorithms,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.o.clockToleranceSeconds ?? 5,
        ...(this.o.issuer ? { issuer: this.o.issuer } : {}),
        ...(this.o.audience ? { audience: this.o.audience } : {}),
      }));
    } catch (err) {
      return { ok: false, error: describe(err) };
    }
    return this.principalOf(payload);
  }

  private principalOf(payload: JWTPayload): AuthResult {
    const user = payload.sub;
    if (typeof user !== 'string' || user.length === 0 || user.length > 256)
      return fail('claim "sub" must be a string of 1-256 characters');
    const tenantClaim = this.o.tenantClaim ?? 'tenant';
    const rawTenant = payload[tenantClaim] ?? this.o.defaultTenant;
    if (rawTenant === undefined) return fail(`token has no "${tenantClaim}" claim`);
    const tenant = TenantId.safeParse(rawTenant);
    if (!tenant.success) return fail(`claim "${tenantClaim}" is not a valid tenant id`);
    const agents = parseAgents(payload[this.o.agentsClaim ?? 'agents']);
    if (agents === null) return fail(`claim "${this.o.agentsClaim ?? 'agents'}" must list agent names`);
    const principal: Principal = {
      tenant: tenant.data,
      user,
      ...(agents ? { agents } : {}),
      ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {}),
    };
    return { ok: true, principal };
  }
}

/** Thrown from the key resolver to reject a token with a precise reason. */
class UnauthenticatedError extends Error {}

/** An array of names or a space-separated string (OAuth scope style); undefined = no restriction. */
function parseAgents(v: unknown): string[] | undefined | null {
  if (v === undefined) return undefined;
  const list = typeof v === 'string' ? v.split(' ').filter((s) => s.length > 0) : v;
  if (!Array.isArray(list) || list.length > 1000) return null;
  return list.every((a) => typeof a === 'string' && a.length <= 64) ? (list as string[]) : null;
}

function fail(message: string): AuthResult {
  return { ok: false, error: errorBody('unauthenticated', message) };
}

/** Maps jose's error codes to a client-safe reason; a JWKS outage is `unavailable` (retryable). */
function describe(err: unknown): ErrorBody {
  if (err instanceof UnauthenticatedError) return errorBody('unauthenticated', err.message);
  const e = err as { code?: string; claim?: string };
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      return errorBody('unauthenticated', 'token expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return errorBody('unauthenticated', `claim "${e.claim ?? '?'}" is missing or invalid`);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return errorBody('unauthenticated', 'token algorithm not allowed');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return errorBody('unauthenticated', 'token signature is invalid');
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return errorBody('unauthenticated', 'no key matches the token');
    case 'ERR_JWKS_TIMEOUT':
      return errorBody('unavailable', 'the key set could not be fetched in time; retry');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return errorBody('unauthenticated', 'token is malformed');
    default:
      // A remote JWKS that cannot be reached is our outage, not the client's fault.
      if (String(err).includes('fetch') || e.code === 'ERR_JOSE_GENERIC')
        return errorBody('unavailable', 'the key set is unavailable; retry');
      return errorBody('unauthenticated', 'token rejected');
  }
}
