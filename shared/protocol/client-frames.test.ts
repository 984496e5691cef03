import { describe, expect, it } from 'vitest';
import { ClientFrame } from './client-frames.js';

describe('protocol - hostile client frames', () => {
  it('rejects prototype-pollution keys at any level and leaves Object.prototype untouched', () => {
    for (const text of [
      '{"type":"ping","__proto__":{"polluted":true}}',
      '{"type":"start","input":"x","options":{"__proto__":{"polluted":true}}}',
      '{"type":"start","input":"x","constructor":{"prototype":{"polluted":true}}}',
      '{"type":"start","input":"x","options":{"constructor":{"prototype":{"polluted":true}}}}',
    ]) {
      expect(ClientFrame.safeParse(JSON.parse(text)).success, text).toBe(false);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects deep nesting where an object is expected without recursing into it', () => {
    const deep = `{"type":"start","input":"x","options":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(ClientFrame.safeParse(JSON.parse(deep)).success).toBe(false);
  });
});
