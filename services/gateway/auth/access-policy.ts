import { type ErrorBody, errorBody } from '../../../shared/protocol/index.js';
import type {
  HttpFilterResult,
  HttpRequestInfo,
  HttpResult,
  UpgradeDecision,
} from '../transport/connection.js';
import type { Authenticator } from './authenticator.js';
import { bearerFromAuthorization, offeredCredentials } from './bearer-token.js';
import { corsHeaders, isPreflight, preflightResponse } from './cors.js';
import { isLoopbackHostHeader, type OriginPolicy } from './origin-policy.js';
import type { Principal } from './principal.js';

export interface AccessPolicyOptions {
  /** Refuse requests whose Host is not a loopback name (dev mode: DNS-rebinding guard). */
  loopbackHostOnly: boolean;
  /** Path prefixes of HTTP APIs: every request under them needs a valid token. */
  apiPrefixes?: readonly string[];
  /** API paths that stay public (health checks for load balancers). */
  publicPaths?: readonly string[];
}

const DEFAULT_API_PREFIXES = ['/v1/', '/api/'];
const DEFAULT_PUBLIC_PATHS = ['/api/v1/stream/health'];

/**
 * The gateway's single entry check, for the WebSocket upgrade and for every HTTP route:
 * Host guard (dev), Origin allowlist (403), then the bearer token (401) for WebSockets and APIs.
 * Cheap checks run first, so a refused origin never costs a signature verification.
 */
export class AccessPolicy {
  private readonly apiPrefixes: readonly string[];
  private readonly publicPaths: ReadonlySet<string>;

  constructor(
    private readonly auth: Authenticator,
    private readonly origins: OriginPolicy,
    private readonly o: AccessPolicyOptions,
  ) {
    this.apiPrefixes = o.apiPrefixes ?? DEFAULT_API_PREFIXES;
    this.publicPaths = new Set(o.publicPaths ?? DEFAULT_PUBLIC_PATHS);
  }

  get mode(): 'dev' | 'jwt' {
    return this.auth.mode;
  }

  /** Decides a WebSocket upgrade: the principal becomes the connection's context. */
  async upgrade(req: HttpRequestInfo): Promise<UpgradeDecision<Principal>> {
    const refused = this.checkOrigin(req);
    if (refused) return { ok: false, status: refused.status, body: String(refused.body) };
    const { token, protocol } = offeredCredentials(req.headers);
    const r = await this.auth.authenticate(token);
    if (!r.ok) {
      const denied = deny(r.error);
      return { ok: false, status: denied.status, body: String(denied.body), headers: denied.headers ?? {} };
    }
    return { ok: true, ctx: r.principal, protocol };
  }

  /** The HTTP filter: preflight, origin, and authentication of API paths. */
  async http(req: HttpRequestInfo): Promise<HttpFilterResult> {
    const refused = this.checkOrigin(req);
    if (refused) return { respond: refused };
    const origin = req.headers.origin;
    if (isPreflight(req)) return { respond: preflightResponse(origin) };
    const headers = corsHeaders(origin);
    if (!this.isApi(req.path)) return { headers };
    const r = await this.auth.authenticate(bearerFromAuthorization(req.headers.authorization));
    if (!r.ok) {
      const denied = deny(r.error);
      return { respond: { ...denied, headers: { ...headers, ...denied.headers } } };
    }
    return { ctx: r.principal, headers };
  }

  private isApi(path: string): boolean {
    return !this.publicPaths.has(path) && this.apiPrefixes.some((p) => path.startsWith(p));
  }

  private checkOrigin(req: HttpRequestInfo): HttpResult | null {
    if (this.o.loopbackHostOnly && !isLoopbackHostHeader(req.headers.host))
      return errorResult(
        403,
        errorBody('forbidden', 'this development gateway only answers requests addressed to localhost'),
      );
    if (!this.origins.allows(req.headers.origin, req.headers.host))
      return errorResult(403, errorBody('forbidden', 'origin not allowed (CORS_ORIGINS)'));
    return null;
  }
}

/** The principal an HTTP filter attached to a request (API routes only). */
export function principalOf(req: HttpRequestInfo): Principal | undefined {
  return req.ctx as Principal | undefined;
}

/** 401 with a `WWW-Authenticate` challenge, or 503 when the key set is unreachable. */
function deny(error: ErrorBody): HttpResult {
  if (error.code === 'unavailable') return errorResult(503, error, { 'retry-after': '1' });
  return errorResult(401, error, {
    'www-authenticate': `Bearer error="invalid_token", error_description="${quote(error.message)}"`,
  });
}

function errorResult(status: number, error: ErrorBody, headers: Record<string, string> = {}): HttpResult {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ error }),
  };
}

/** Header-safe text for a quoted-string (RFC 7235). */
function quote(s: string): string {
  return s.replace(/["\\\r\n]/g, ' ');
}
