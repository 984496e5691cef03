/**
 * Headers on every HTTP answer of the gateway (API, SSE, static pages, refusals): no MIME
 * sniffing, no referrer leaving the site, no framing by other sites (clickjacking). HSTS is the
 * TLS terminator's job (the gateway speaks plain HTTP behind it).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
};

/** The security headers, then the route's own (a route may override one, e.g. a stricter CSP). */
export function withSecurityHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  if (!headers) return { ...SECURITY_HEADERS };
  const out: Record<string, string> = { ...SECURITY_HEADERS };
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}
