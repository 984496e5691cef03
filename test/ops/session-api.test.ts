import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/topology/free-port.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { SessionListPage, SessionStatus } from '../../shared/protocol/index.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { RawClient } from '../harness/raw-client.js';
import { metricValue, scrape } from './prom-text.js';

let fabric: TestFabric;
let workerMetricsPort: number;

beforeAll(async () => {
  workerMetricsPort = await freePort();
  fabric = await startFabric({
    gateways: 2,
    workers: 1,
    workerEnv: { PROMETHEUS_METRICS_PORT: String(workerMetricsPort) },
  });
});
afterAll(async () => {
  await fabric?.stop();
});

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const r = await fetch(url, init);
  return { status: r.status, body: await r.json() };
}

/** Starts a session through gateway `g` and returns its sid (the client stays connected). */
async function start(c: RawClient, id: string, options: Record<string, unknown>): Promise<string> {
  c.send({ type: 'start', id, input: id, options });
  const r = await c.reply((x) => x.id === id);
  expect(r.ok).toBe(true);
  return r.sid!;
}

describe('session api - status and list from any gateway', () => {
  it('GET /v1/sessions/:id gives the same state and counts on both gateways', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    const sid = await start(c, 'st1', { seed: 1, length: 30, tokensPerSecond: 0 });
    const events = await c.finished(sid);
    // The registry turns idle just after the terminal event is stored: wait for it.
    const a = await waitFor(
      async () => {
        const r = await getJson(`${fabric.httpUrl(0)}/v1/sessions/${sid}`);
        return (r.body as { state?: string }).state === 'idle' ? r : null;
      },
      { what: 'session idle in the registry' },
    );
    const b = await getJson(`${fabric.httpUrl(1)}/v1/sessions/${sid}`);
    expect(a.status).toBe(200);
    const s = SessionStatus.parse(a.body);
    expect(SessionStatus.parse(b.body)).toEqual(s);
    expect(s).toMatchObject({
      sid,
      tenant: 'public',
      agent: 'builtin',
      state: 'idle',
      turns: 1,
      lastOutcome: 'done',
      lastSeq: events.length,
      events: events.length,
      lastEventType: 'done',
    });
    c.close();
  });

  it('lists sessions in pages with a cursor, filtered by state, on either gateway', async () => {
    const c = await RawClient.connect(fabric.wsUrl(1));
    const sids: string[] = [];
    for (let i = 0; i < 5; i++)
      sids.push(await start(c, `ls${i}`, { seed: i, length: 5, tokensPerSecond: 0 }));
    for (const sid of sids) await c.finished(sid);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const q = `limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await getJson(`${fabric.httpUrl(page % 2)}/v1/sessions?${q}`);
      expect(r.status).toBe(200);
      const p = SessionListPage.parse(r.body);
      expect(p.sessions.length).toBeLessThanOrEqual(2);
      seen.push(...p.sessions.map((s) => s.sid));
      cursor = p.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    for (const sid of sids) expect(seen).toContain(sid);
    const idle = SessionListPage.parse(
      (await getJson(`${fabric.httpUrl(0)}/v1/sessions?state=idle&limit=500`)).body,
    );
    expect(idle.sessions.every((s) => s.state === 'idle')).toBe(true);
    expect(idle.sessions.map((s) => s.sid)).toEqual(expect.arrayContaining(sids));
    const queued = SessionListPage.parse(
      (await getJson(`${fabric.httpUrl(1)}/v1/sessions?state=queued&limit=500`)).body,
    );
    expect(queued.sessions.map((s) => s.sid).filter((x) => sids.includes(x))).toEqual([]);
    c.close();
  });

  it('POST /v1/sessions/:id/cancel on the other gateway ends a running session with cancelled', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    const sid = await start(c, 'cx', { seed: 3, length: 5000, tokensPerSecond: 50 });
    await waitFor(() => c.events(sid).length >= 2, { what: 'first events' });
    const r = await getJson(`${fabric.httpUrl(1)}/v1/sessions/${sid}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'operator' }),
    });
    expect(r).toEqual({ status: 202, body: { ok: true, sid } });
    const events = await c.finished(sid);
    expect(events.at(-1)).toMatchObject({ type: 'cancelled', reason: 'operator' });
    c.close();
  });

  it('answers bad input with typed errors and HTTP statuses', async () => {
    const base = fabric.httpUrl(0);
    const cases: [string, RequestInit | undefined, number, string][] = [
      ['/v1/sessions?limit=0', undefined, 400, 'invalid_argument'],
      ['/v1/sessions?state=dancing', undefined, 400, 'invalid_argument'],
      ['/v1/sessions?colour=red', undefined, 400, 'invalid_argument'],
      ['/v1/sessions?tenant=acme', undefined, 403, 'forbidden'],
      ['/v1/sessions/bad%20id', undefined, 400, 'invalid_argument'],
      ['/v1/sessions/s_doesnotexist', undefined, 404, 'not_found'],
      ['/v1/sessions/s_doesnotexist/cancel', { method: 'POST' }, 404, 'not_found'],
      ['/v1/sessions/s_doesnotexist/cancel', { method: 'POST', body: '{oops' }, 400, 'bad_frame'],
      ['/v1/sessions/s_doesnotexist/cancel', { method: 'POST', body: '{"why":1}' }, 400, 'invalid_argument'],
    ];
    for (const [path, init, status, code] of cases) {
      const r = await getJson(`${base}${path}`, init);
      expect({ path, status: r.status }).toEqual({ path, status });
      expect((r.body as { error: { code: string } }).error.code).toBe(code);
    }
    // The seed's /api/v1/stream/* paths answer the seed's shapes: test/socketio/seed-socket-io.test.ts.
    const ready = await getJson(`${base}/readyz`);
    expect(ready).toMatchObject({ status: 200, body: { status: 'ready', nats: 'connected' } });
  });
});

describe('session api - get_metrics over the WebSocket', () => {
  it('replies with the session status plus what this connection received', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    const sid = await start(c, 'gm', { seed: 8, length: 20, tokensPerSecond: 0 });
    const events = await c.finished(sid);
    c.send({ type: 'get_metrics', id: 'm1', sid });
    const r = await c.reply((x) => x.id === 'm1');
    expect(r).toMatchObject({ ok: true, op: 'get_metrics', sid });
    expect(r.metrics).toMatchObject({ sid, lastSeq: events.length, delivered: events.length, lag: 0 });
    const other = await RawClient.connect(fabric.wsUrl(1));
    other.send({ type: 'get_metrics', id: 'm2', sid });
    expect((await other.reply((x) => x.id === 'm2')).metrics).toMatchObject({ delivered: null, lag: null });
    other.send({ type: 'get_metrics', id: 'm3', sid: 's_nosuchsession' });
    expect((await other.reply((x) => x.id === 'm3')).error?.code).toBe('not_found');
    c.close();
    other.close();
  });
});

describe('observability - gateway metrics and logs', () => {
  it('counts delivered events and tokens, time to first token, resumes, replays and errors', async () => {
    const c = await RawClient.connect(fabric.wsUrl(1));
    const sid = await start(c, 'mx', { seed: 4, length: 40, tokensPerSecond: 0, bufferSize: 4 });
    const events = await c.finished(sid);
    const r = await RawClient.connect(fabric.wsUrl(1));
    r.send({ type: 'resume', id: 'rs', sid, after: 0 });
    await r.finished(sid);
    r.send({ type: 'teleport' });
    await waitFor(() => r.replies().some((x) => x.error?.code === 'unknown_type'), { what: 'error reply' });
    const m = await scrape(`${fabric.httpUrl(1)}/metrics`);
    const tokenEvents = events.filter((e) => e.type === 'token').length;
    expect(tokenEvents).toBeGreaterThan(1);
    expect(metricValue(m, 'streamfabric_gateway_tokens_delivered_total')).toBeGreaterThanOrEqual(80);
    expect(
      metricValue(m, 'streamfabric_gateway_events_delivered_total', { source: 'log' }),
    ).toBeGreaterThanOrEqual(events.length);
    expect(metricValue(m, 'streamfabric_gateway_time_to_first_token_seconds_count')).toBeGreaterThanOrEqual(
      1,
    );
    expect(metricValue(m, 'streamfabric_gateway_resumes_total', { outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(m, 'streamfabric_gateway_errors_total', { code: 'unknown_type' }),
    ).toBeGreaterThanOrEqual(1);
    expect(metricValue(m, 'streamfabric_gateway_connections')).toBeGreaterThanOrEqual(2);
    expect(metricValue(m, 'streamfabric_process_cpu_seconds_total')).toBeGreaterThan(0);
    c.close();
    r.close();
  });

  it('a worker serves its metrics and probes on PROMETHEUS_METRICS_PORT', async () => {
    const base = `http://127.0.0.1:${workerMetricsPort}`;
    const m = await waitFor(
      async () => {
        const x = await scrape(`${base}/metrics`);
        return metricValue(x, 'streamfabric_worker_jobs_total', { outcome: 'done' }) > 0 ? x : null;
      },
      { what: 'a finished job in the worker metrics' },
    );
    expect(metricValue(m, 'streamfabric_worker_model_tokens_total')).toBeGreaterThan(0);
    expect(metricValue(m, 'streamfabric_worker_events_published_total')).toBeGreaterThan(0);
    expect(
      metricValue(m, 'streamfabric_worker_model_first_token_seconds_count', { agent: 'builtin' }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(m, 'streamfabric_worker_job_duration_seconds_count', { agent: 'builtin' }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(m, 'streamfabric_worker_jobs_in_flight', { service: 'worker' }),
    ).toBeGreaterThanOrEqual(0);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('logs JSON lines with the gateway id, and session lines carry sid and tenant', async () => {
    const g = fabric.gateways[0]!;
    const line = await waitFor(() => g.logs.find((l) => l.msg === 'session started'), { what: 'log line' });
    expect(line).toMatchObject({ gateway: expect.any(String), tenant: 'public', sid: expect.any(String) });
    expect(typeof line.level).toBe('number');
  });
});
