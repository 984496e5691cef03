import { isLoopbackHost } from '../../../shared/config/security-config.js';

/**
 * Decides whether a browser origin may use the gateway (CORS_ORIGINS). Origins are a browser's
 * defence against cross-site use of ambient credentials, so a request WITHOUT an Origin header
 * (a server, a CLI) passes: it could forge any Origin anyway, and authentication applies to it.
 *
 * Entries: `*` any origin; `self` the origin equals the request's Host; `loopback` a page served
 * from this machine (any port); `null` opaque origins (file://, sandboxed iframes); an exact
 * origin (`https://app.example.com`); a wildcard (`https://*.example.com`, subdomains only).
 * @example
 * new OriginPolicy(['self', 'https://app.example.com']).allows('https://evil.test', 'gw:8080'); // false
 */
export class OriginPolicy {
  private readonly any: boolean;
  private readonly self: boolean;
  private readonly loopback: boolean;
  private readonly opaque: boolean;
  private readonly exact = new Set<string>();
  private readonly wildcards: { scheme: string; suffix: string; port: string }[] = [];

  constructor(entries: readonly string[]) {
    const lower = entries.map((e) => e.trim().toLowerCase());
    this.any = lower.includes('*');
    this.self = lower.includes('self');
    this.loopback = lower.includes('loopback');
    this.opaque = lower.includes('null');
    for (const e of lower) {
      const w = /^(https?):\/\/\*\.([a-z0-9.-]+?)(?::(\d+))?\/?$/.exec(e);
      if (w) this.wildcards.push({ scheme: w[1]!, suffix: `.${w[2]!}`, port: w[3] ?? '' });
      else if (e.includes('://')) this.exact.add(e.replace(/\/+$/, ''));
    }
  }

  /** Whether a request with this Origin header (and Host header) is allowed. */
  allows(origin: string | undefined, host: string | undefined): boolean {
    if (origin === undefined || origin === '') return true;
    if (this.any) return true;
    const o = origin.trim().toLowerCase();
    if (o === 'null') return this.opaque;
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (this.exact.has(`${url.protocol}//${url.host}`)) return true;
    if (this.self && host !== undefined && url.host === host.trim().toLowerCase()) return true;
    if (this.loopback && isLoopbackHost(url.hostname)) return true;
    const scheme = url.protocol.slice(0, -1);
    return this.wildcards.some(
      (w) => w.scheme === scheme && url.hostname.endsWith(w.suffix) && w.port === url.port,
    );
  }
}

/**
 * DNS-rebinding guard for dev mode: a loopback gateway only answers requests addressed to a
 * loopback name, so a hostile site whose DNS flips to 127.0.0.1 cannot reach it as "self".
 */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined || host === '') return true;
  const h = host.trim();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : (h.split(':')[0] ?? '');
  return isLoopbackHost(name);
}
