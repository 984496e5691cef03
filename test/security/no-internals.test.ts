import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/topology/free-port.js';
import { repoRoot } from '../../scripts/topology/service-process.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { RawClient } from '../harness/raw-client.js';
import { hsToken, TEST_SECRET } from '../harness/tokens.js';

// On this input the worker's agent throws an Error naming the worker's NATS address and its
// source file (BUILTIN_FAULT_THROW_INPUT): every door (WebSocket, SSE, OpenAI-compatible HTTP)
// must show the client only a typed error, and the worker log must keep the details.
const BOOM = 'please fail';
let INTERNALS: string[];

let fabric: TestFabric;
let metricsPort: number;
let auth: Record<string, string>;

beforeAll(async () => {
  metricsPort = await freePort('127.0.0.1');
  fabric = await startFabric({
    gateways: 1,
    workers: 1,
    gatewayEnv: {
      AUTH_MODE: 'jwt',
      AUTH_JWT_SECRET: TEST_SECRET,
      PROMETHEUS_METRICS_PORT: String(metricsPort),
    },
    workerEnv: { BUILTIN_FAULT_THROW_INPUT: BOOM },
  });
  INTERNALS = [...fabric.nats.urls.split(','), repoRoot(), 'create-agents', 'nats://'];
  for (const u of fabric.nats.urls.split(',')) INTERNALS.push(u.replace('nats://', ''));
  auth = { authorization: `Bearer ${await hsToken({ sub: 'mallory', tenant: 'acme' })}` };
});
afterAll(async () => {
  await fabric?.stop();
});

function expectNoInternals(door: string, text: string): void {
  for (const x of INTERNALS)
    expect({ door, leaked: text.includes(x) ? x : null }).toEqual({ door, leaked: null });
}

describe('no internals reach a client - an agent that throws with paths and addresses', () => {
  it('WebSocket: the error event is typed and redacted; the worker log has the details with the session id', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0), [
      'streamfabric.v1',
      `bearer.${await hsToken({ sub: 'mallory' })}`,
    ]);
    c.send({ type: 'start', id: 1, input: BOOM });
    const sid = (await c.reply((r) => r.id === 1)).sid!;
    const err = await waitFor(() => c.events(sid).find((e) => e.type === 'error'), { what: 'error event' });
    expect(err).toMatchObject({ type: 'error', error: { code: 'agent_error', retryable: false } });
    expectNoInternals('ws', JSON.stringify(c.frames));
    c.close();
    const logged = await waitFor(
      () => fabric.workers[0]!.logs.find((l) => l.sid === sid && l.msg === 'agent failed'),
      { what: 'worker log of the failure' },
    );
    expect(JSON.stringify(logged)).toContain(fabric.nats.urls.split(',')[0]);
  });

  it('SSE: the error event of the stream is redacted', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0), [
      'streamfabric.v1',
      `bearer.${await hsToken({ sub: 'mallory' })}`,
    ]);
    c.send({ type: 'start', id: 1, input: BOOM });
    const sid = (await c.reply((r) => r.id === 1)).sid!;
    c.close();
    const res = await fetch(`${fabric.httpUrl(0)}/v1/sessions/${sid}/events`, {
      headers: auth,
      signal: AbortSignal.timeout(20_000),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const text = await res.text(); // the stream ends after the terminal event
    expect(text).toContain('agent_error');
    expectNoInternals('sse', text);
  });

  it('chat completions (streaming and not): the error is redacted', async () => {
    for (const stream of [true, false]) {
      const res = await fetch(`${fabric.httpUrl(0)}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'streamfabric/builtin',
          stream,
          messages: [{ role: 'user', content: BOOM }],
        }),
        signal: AbortSignal.timeout(20_000),
      });
      const text = await res.text();
      expect({ stream, hasError: /agent|error/.test(text) }).toEqual({ stream, hasError: true });
      expectNoInternals(`chat completions stream=${stream}`, text);
    }
  });
});

describe('HTTP hardening', () => {
  it('every kind of answer carries the security headers', async () => {
    const answers = {
      api: await fetch(`${fabric.httpUrl(0)}/v1/sessions`, { headers: auth }),
      unauthenticated: await fetch(`${fabric.httpUrl(0)}/v1/sessions`),
      page: await fetch(`${fabric.httpUrl(0)}/examples/basic.html`),
      notFound: await fetch(`${fabric.httpUrl(0)}/nope`, { headers: auth }),
      health: await fetch(`${fabric.httpUrl(0)}/healthz`),
    };
    for (const [what, r] of Object.entries(answers)) {
      await r.arrayBuffer();
      expect({
        what,
        nosniff: r.headers.get('x-content-type-options'),
        referrer: r.headers.get('referrer-policy'),
        frame: r.headers.get('x-frame-options'),
        csp: r.headers.get('content-security-policy'),
      }).toEqual({
        what,
        nosniff: 'nosniff',
        referrer: 'no-referrer',
        frame: 'DENY',
        csp: "frame-ancestors 'none'",
      });
    }
    expect(answers.page.status).toBe(200);
  });

  it('AUTH_MODE=jwt: /metrics is not on the client port, it is on PROMETHEUS_METRICS_PORT', async () => {
    for (const headers of [{}, auth]) {
      const r = await fetch(`${fabric.httpUrl(0)}/metrics`, { headers });
      const body = await r.text();
      expect(r.status).not.toBe(200);
      expect(body).not.toContain('streamfabric_gateway_');
    }
    const m = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toContain('streamfabric_gateway_connections');
  });
});
