import { describe, expect, it } from 'vitest';
import { isLoopbackHostHeader, OriginPolicy } from './origin-policy.js';

describe('auth - origin policy', () => {
  it('lets requests without an Origin through (non-browser clients)', () => {
    expect(new OriginPolicy([]).allows(undefined, 'gw:1')).toBe(true);
  });

  it('self matches the Host header; loopback matches any local port', () => {
    const p = new OriginPolicy(['self', 'loopback']);
    expect(p.allows('https://gw.example.com', 'gw.example.com')).toBe(true);
    expect(p.allows('https://gw.example.com', 'other.example.com')).toBe(false);
    expect(p.allows('http://localhost:5173', 'gw.example.com')).toBe(true);
    expect(p.allows('http://127.0.0.1:9', undefined)).toBe(true);
    expect(p.allows('http://[::1]:3000', undefined)).toBe(true);
    expect(p.allows('http://evil.test', '127.0.0.1:8080')).toBe(false);
    expect(p.allows('null', '127.0.0.1:8080')).toBe(false);
  });

  it('matches exact origins and subdomain wildcards, scheme and port included', () => {
    const p = new OriginPolicy(['https://app.example.com/', 'https://*.example.org', 'null']);
    expect(p.allows('https://app.example.com', 'x')).toBe(true);
    expect(p.allows('http://app.example.com', 'x')).toBe(false);
    expect(p.allows('https://app.example.com:8443', 'x')).toBe(false);
    expect(p.allows('https://a.b.example.org', 'x')).toBe(true);
    expect(p.allows('https://example.org', 'x')).toBe(false);
    expect(p.allows('https://evilexample.org', 'x')).toBe(false);
    expect(p.allows('null', 'x')).toBe(true);
    expect(p.allows('not a url', 'x')).toBe(false);
    expect(p.allows('javascript://app.example.com', 'x')).toBe(false);
  });

  it('* allows any origin', () => {
    expect(new OriginPolicy(['*']).allows('https://anything.test', 'h')).toBe(true);
  });

  it('the dev-mode host guard accepts only loopback names (DNS rebinding)', () => {
    expect(isLoopbackHostHeader('127.0.0.1:8080')).toBe(true);
    expect(isLoopbackHostHeader('localhost')).toBe(true);
    expect(isLoopbackHostHeader('[::1]:8080')).toBe(true);
    expect(isLoopbackHostHeader('rebind.evil.test:8080')).toBe(false);
  });
});
