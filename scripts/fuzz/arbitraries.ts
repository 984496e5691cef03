import fc from 'fast-check';
import { CLIENT_FRAME_TYPES } from '../../shared/protocol/index.js';

/**
 * fast-check generators of hostile input for the gateway: client frames shaped like the
 * protocol with every field mutated, arbitrary JSON, prototype-pollution keys, deep nesting,
 * truncated JSON, binary frames and invalid UTF-8. Seeded, so a run can be replayed.
 */

/** One WebSocket message a fuzzing client sends. */
export type WsInput =
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Uint8Array }
  /** Bytes sent in a TEXT frame that are not valid UTF-8 (a protocol error). */
  | { kind: 'bad-utf8'; data: Uint8Array };

/** Every frame type the protocol knows, so new frames are fuzzed as soon as they exist. */
const FRAME_TYPES = CLIENT_FRAME_TYPES;
const DANGEROUS_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
const OPTION_KEYS = [
  'seed',
  'length',
  'tokensPerSecond',
  'thinkMs',
  'model',
  'temperature',
  'maxTokens',
  'systemPrompt',
  'flushIntervalMs',
  'bufferSize',
  'maxTokensPerSecond',
];

/** Numbers a validator trips on: negatives, fractions, huge, unsafe integers, -0. */
const nastyNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.constantFrom(0, -0, -1, 1e308, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, 0.5, 1e-300),
);
/** Any JSON-ish value, including wrong types for every field. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: nastyNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, '', ' ', '\u0000', '\uD800') },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);
const sessionIdish = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/),
  fc.constantFrom('s_notthere01', 'a.b.c.d.e.f', 'fabric.>', '*', '../../etc', 'x'.repeat(65), ''),
  anyValue,
);
const agentish = fc.oneof(
  fc.constantFrom('builtin', 'fuzz-none', 'openai', 'BUILTIN', 'a.b', '>', ''),
  fc.string({ maxLength: 70 }),
);

/** A frame shaped like the protocol, with any field missing, extra or of the wrong type. */
export const protocolishFrame: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      type: fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...FRAME_TYPES) },
        { weight: 1, arbitrary: anyValue },
      ),
      id: fc.oneof(fc.string({ maxLength: 70 }), fc.integer(), anyValue),
      sid: sessionIdish,
      agent: agentish,
      input: fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 50 }), anyValue),
      after: fc.oneof(fc.nat(), nastyNumber, anyValue),
      // Resume positions: the stream hint and the log generation (a wrong epoch must be refused, typed).
      pos: fc.oneof(fc.nat(), nastyNumber, anyValue),
      epoch: fc.oneof(fc.string({ maxLength: 40 }), anyValue),
      // Conversation frames: `message` (text, turn) and `input` (requestId, text).
      text: fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 50 }), anyValue),
      turn: fc.oneof(fc.integer({ min: -1, max: 5 }), nastyNumber, anyValue),
      requestId: fc.oneof(fc.string({ maxLength: 140 }), anyValue),
      options: fc.oneof(
        fc.dictionary(fc.constantFrom(...OPTION_KEYS, ...DANGEROUS_KEYS), fc.oneof(nastyNumber, anyValue), {
          maxKeys: 4,
        }),
        anyValue,
      ),
      extra: anyValue,
    },
    { requiredKeys: ['type'] },
  )
  .map((r) => {
    // `extra` becomes an unknown key, which strict schemas must reject.
    const { extra, ...rest } = r as Record<string, unknown>;
    return extra === undefined ? rest : { ...rest, [`x${(JSON.stringify(extra) ?? '').length % 7}`]: extra };
  });

/** JSON text with prototype-pollution keys at the top level or nested. */
const pollution: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...DANGEROUS_KEYS), fc.constantFrom(...FRAME_TYPES), fc.boolean())
  .map(([key, type, nested]) =>
    nested
      ? `{"type":"${type}","input":"x","options":{"${key}":{"polluted":true,"seed":1}}}`
      : `{"type":"${type}","input":"x","sid":"s_pollute01","after":0,"${key}":{"polluted":true}}`,
  );

/** Nesting from shallow to 100k levels (arrays, objects, or mixed) inside or instead of a frame. */
const deepNesting: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(10, 1_000, 10_000, 100_000), fc.constantFrom('array', 'object', 'in-frame'))
  .map(([depth, shape]) => {
    if (shape === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    if (shape === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    return `{"type":"start","input":"x","options":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  });

/** A valid-looking frame cut at a random point. */
const truncated: fc.Arbitrary<string> = fc
  .tuple(protocolishFrame, fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([f, at]) => {
    const s = JSON.stringify(f);
    return s.slice(0, Math.floor(s.length * at));
  });

/** Big inputs near common limits (the fuzz gateway's frame limit is 256 KiB). */
const big: fc.Arbitrary<string> = fc
  .constantFrom(99_999, 100_000, 100_001, 250_000)
  .map((n) => JSON.stringify({ type: 'start', agent: 'fuzz-none', input: 'é'.repeat(Math.floor(n / 2)) }));

/** Every kind of hostile WebSocket message, weighted towards the protocol's shape. */
export const wsInput: fc.Arbitrary<WsInput> = fc.oneof(
  {
    weight: 12,
    arbitrary: protocolishFrame.map((f) => ({ kind: 'text' as const, data: JSON.stringify(f) })),
  },
  { weight: 3, arbitrary: fc.jsonValue().map((v) => ({ kind: 'text' as const, data: JSON.stringify(v) })) },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }).map((s) => ({ kind: 'text' as const, data: s })) },
  { weight: 2, arbitrary: pollution.map((s) => ({ kind: 'text' as const, data: s })) },
  { weight: 2, arbitrary: truncated.map((s) => ({ kind: 'text' as const, data: s })) },
  { weight: 1, arbitrary: deepNesting.map((s) => ({ kind: 'text' as const, data: s })) },
  { weight: 1, arbitrary: big.map((s) => ({ kind: 'text' as const, data: s })) },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ kind: 'binary' as const, data: b })),
  },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ minLength: 1, maxLength: 50 })
      .map((b) => ({ kind: 'bad-utf8' as const, data: Uint8Array.from([...b, 0xc3, 0x28, 0xff]) })),
  },
);

/** One HTTP request a fuzzing client sends. */
export interface HttpInput {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const ROUTES = [
  '/healthz',
  '/readyz',
  '/metrics',
  '/v1/whoami',
  '/v1/ws',
  '/examples/basic.html',
  '/client/streamfabric.js',
  '/',
  '/api/v1/stream/sessions',
  '/api/v1/stream/health',
  '/v1/sessions/s_abcdefgh/events',
  '/v1/sessions',
  '/v1/sessions/s_abcdefgh',
  '/v1/sessions/s_abcdefgh/cancel',
  '/v1/chat/completions',
];
const pathArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...ROUTES),
  fc.tuple(fc.constantFrom(...ROUTES), fc.string({ maxLength: 30 })).map(([r, s]) => `${r}${safeEncode(s)}`),
  fc.constantFrom(
    '/examples/../../package.json',
    '/examples/..%2f..%2fpackage.json',
    '/examples/%2e%2e/%2e%2e/package.json',
    '/client/%',
    '/client/%ff%fe',
    '/examples/%00',
    `/${'a'.repeat(3000)}`,
    '/v1/whoami?token=x&token=y',
    '//healthz',
    '/v1/whoami/../healthz',
  ),
  fc.array(fc.stringMatching(/^[A-Za-z0-9%._~-]{0,12}$/), { maxLength: 6 }).map((s) => `/${s.join('/')}`),
);

export function httpInput(validToken: string): fc.Arbitrary<HttpInput> {
  return fc.record(
    {
      method: fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
      path: pathArb,
      headers: fc
        .record(
          {
            origin: fc.constantFrom('https://app.example.com', 'https://evil.test', 'null', 'garbage', ''),
            authorization: fc.oneof(
              fc.constant(`Bearer ${validToken}`),
              fc.constant(`Bearer ${validToken.slice(0, -3)}abc`),
              fc.constantFrom('Bearer', 'Basic Zm9vOmJhcg==', `Bearer ${'x'.repeat(9000)}`, 'bearer a.b.c'),
              fc.stringMatching(/^[ -~]{0,60}$/),
            ),
            'content-type': fc.constantFrom(
              'application/json',
              'text/plain',
              'multipart/form-data; boundary=x',
            ),
            'access-control-request-method': fc.constantFrom('GET', 'POST', 'DELETE', 'TRACE'),
            'last-event-id': fc.stringMatching(/^[ -~]{0,20}$/),
          },
          { requiredKeys: [] },
        )
        .map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== ''))),
      body: fc.oneof(fc.json(), fc.string({ maxLength: 500 }), fc.constant('{"type":"start","input":"x"')),
    },
    { requiredKeys: ['method', 'path', 'headers'] },
  );
}

/** encodeURI, or nothing for strings it cannot encode (lone surrogates). */
function safeEncode(s: string): string {
  try {
    return encodeURI(s);
  } catch {
    return '';
  }
}
