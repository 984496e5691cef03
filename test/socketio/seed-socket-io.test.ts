import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { SeedClient, type Seen } from './seed-client.js';

let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({ gateways: 2, workers: 1 });
});
afterAll(async () => {
  await fabric?.stop();
});

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Emits and waits for the first later event that matches. */
async function request(c: SeedClient, name: string, payload: unknown, answer: (s: Seen) => boolean) {
  const mark = c.seen.length;
  c.emit(name, payload);
  return c.next(answer, 30_000, mark);
}
const named = (n: string) => (s: Seen) => s.name === n;
const oneOf =
  (...ns: string[]) =>
  (s: Seen) =>
    ns.includes(s.name);

/** Connects to gateway `g` and waits for the seed's `connected` event. */
async function connected(g: number): Promise<SeedClient> {
  const c = SeedClient.connect(fabric.httpUrl(g));
  await c.next(named('connected'));
  return c;
}

/** `start_stream` that must succeed; returns the session id from `stream_started`. */
async function startStream(c: SeedClient, message: string, options: Record<string, number>): Promise<string> {
  const r = await request(
    c,
    'start_stream',
    { agent_type: 'assistant', message, options },
    oneOf('stream_started', 'error'),
  );
  expect(r.name).toBe('stream_started');
  return (r.payload as { session_id: string }).session_id;
}

/** The transcript of the seed flow, for the issue's closing note (test-results/). */
function record(name: string, c: SeedClient): void {
  const dir = 'test-results';
  mkdirSync(dir, { recursive: true });
  const lines = c.log.map(
    (s) =>
      `${s.name.startsWith('>') ? s.name : `< ${s.name}`}${s.payload === undefined ? '' : ` ${JSON.stringify(s.payload)}`}`,
  );
  writeFileSync(join(dir, `${name}.txt`), `${lines.join('\n')}\n`);
}

describe('socket.io door - the seed flow with socket.io-client 4', () => {
  it('connect, start_stream, stream_event..., stream_completed, get_metrics, stop_stream, errors', async () => {
    const c = SeedClient.connect(fabric.httpUrl(0));
    const connected = await c.next(named('connected'));
    expect(connected.payload).toEqual({ status: 'connected', session_id: c.socket.id });

    const started = await request(
      c,
      'start_stream',
      { agent_type: 'assistant', message: 'Tell me about durable streams', options: { seed: 7, length: 40 } },
      oneOf('stream_started', 'error'),
    );
    expect(started.name).toBe('stream_started');
    const sid = (started.payload as { session_id: string }).session_id;
    expect(started.payload).toEqual({ session_id: sid, agent_type: 'assistant', status: 'streaming' });

    const completed = await c.next(named('stream_completed'));
    const done = completed.payload as Record<string, unknown>;
    expect(Object.keys(done).sort()).toEqual(
      ['duration', 'position', 'session_id', 'timestamp', 'total_tokens', 'type'].sort(),
    );
    expect(done).toMatchObject({ type: 'completion', session_id: sid, total_tokens: 40 });
    expect(done.timestamp).toMatch(ISO);

    const events = c.events(sid);
    const tokens = events.filter((e) => e.type === 'token');
    expect(tokens.length).toBeGreaterThan(0);
    for (const t of tokens) {
      expect(Object.keys(t).sort()).toEqual(
        ['metadata', 'position', 'session_id', 'timestamp', 'token', 'type'].sort(),
      );
    }
    expect(tokens.map((t) => t.token).join('')).toBe(builtinText(7, 40));
    // Positions strictly increase; the completion repeats as a stream_event, as in the seed.
    const positions = events.map((e) => e.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(new Set(positions).size).toBe(positions.length);
    expect(events.at(-1)).toEqual(done);

    const metrics = await request(c, 'get_metrics', undefined, oneOf('metrics', 'error'));
    expect(metrics.name).toBe('metrics');
    expect(metrics.payload).toMatchObject({
      session_id: sid,
      tokens_sent: 40,
      is_streaming: false,
      position: done.position,
      last_position: done.position,
      lag: 0,
    });

    // The seed: stop_stream with no active stream is an `error` event.
    const noStream = await request(c, 'stop_stream', undefined, oneOf('stream_stopped', 'error'));
    expect(noStream).toEqual({
      name: 'error',
      payload: { error: 'No active streaming session', code: 'not_found', retryable: false },
    });

    // A long stream, stopped half way: stream_stopped, and no completion.
    const long = await request(
      c,
      'start_stream',
      {
        agent_type: 'user_proxy',
        message: 'a long one',
        options: { seed: 9, length: 3000, tokensPerSecond: 60 },
      },
      oneOf('stream_started', 'error'),
    );
    const sid2 = (long.payload as { session_id: string }).session_id;
    await waitFor(() => c.events(sid2).length >= 3, { what: 'first tokens of the long stream' });
    const live = await request(c, 'get_metrics', undefined, oneOf('metrics', 'error'));
    expect(live.payload).toMatchObject({ session_id: sid2, is_streaming: true });
    expect((live.payload as { tokens_sent: number }).tokens_sent).toBeGreaterThan(0);
    expect((live.payload as { start_time: string }).start_time).toMatch(ISO);
    const stopped = await request(c, 'stop_stream', undefined, oneOf('stream_stopped', 'error'));
    expect(stopped).toEqual({ name: 'stream_stopped', payload: { session_id: sid2 } });
    const text = c
      .events(sid2)
      .map((e) => e.token ?? '')
      .join('');
    expect(builtinText(9, 3000).startsWith(text)).toBe(true);
    expect(
      c.seen.some(
        (s) => s.name === 'stream_completed' && (s.payload as { session_id: string }).session_id === sid2,
      ),
    ).toBe(false);
    record('socket-io-seed-flow', c);
    c.close();
  });

  it('answers bad input with typed `error` events, and the connection keeps working', async () => {
    const c = await connected(1);
    const cases: [string, unknown, string, string][] = [
      ['start_stream', { message: 'hi' }, 'invalid_argument', 'Missing required field: agent_type'],
      ['start_stream', { agent_type: 'assistant' }, 'invalid_argument', 'Missing required field: message'],
      [
        'start_stream',
        { agent_type: 'wizard', message: 'hi' },
        'invalid_argument',
        'Unsupported agent type: wizard',
      ],
      ['start_stream', 'not an object', 'invalid_argument', 'request: '],
      [
        'start_stream',
        { agent_type: 'assistant', message: 'x', flush_interval: 'soon' },
        'invalid_argument',
        'flush_interval: ',
      ],
      ['resume_stream', { session_id: 'bad id', position: 0 }, 'invalid_argument', 'session_id: '],
      ['resume_stream', { session_id: 's_doesnotexist00', position: 0 }, 'not_found', 'no session'],
      ['get_metrics', undefined, 'not_found', 'No active streaming session'],
    ];
    for (const [name, payload, code, message] of cases) {
      const r = await request(
        c,
        name,
        payload,
        oneOf('error', 'stream_started', 'metrics', 'stream_resumed'),
      );
      const body = r.payload as { error: string; code: string; retryable: boolean };
      expect({ name, event: r.name, code: body.code }).toEqual({ name, event: 'error', code });
      expect(body.error.startsWith(message)).toBe(true);
      expect(body.error).not.toMatch(/\/work\/|node_modules|at .*\.js:/);
    }
    // Still serving after all that.
    await startStream(c, 'still here', { seed: 3, length: 10 });
    await c.next(named('stream_completed'));
    c.close();
  });
});

describe('socket.io door - requests run in order, within limits', () => {
  it('a message over MAX_INPUT_CHARS is refused with limit_exceeded; one over MAX_FRAME_BYTES closes only that socket', async () => {
    const c = await connected(0);
    const long = await request(
      c,
      'start_stream',
      { agent_type: 'assistant', message: 'x'.repeat(150_000) },
      oneOf('stream_started', 'error'),
    );
    expect(long.payload).toMatchObject({ code: 'limit_exceeded', retryable: false });
    const other = await connected(0);
    const closed = new Promise<string>((resolve) => c.socket.on('disconnect', (reason) => resolve(reason)));
    c.emit('start_stream', { agent_type: 'assistant', message: 'y'.repeat(300 * 1024) });
    expect(await closed).toMatch(/transport (close|error)/);
    await startStream(other, 'still fine', { seed: 1, length: 5 });
    await other.next(named('stream_completed'));
    other.close();
  });

  it('start_stream then stop_stream sent together: started, then stopped', async () => {
    const c = await connected(0);
    const mark = c.seen.length;
    c.emit('start_stream', {
      agent_type: 'assistant',
      message: 'quick',
      options: { seed: 2, length: 3000, tokensPerSecond: 20 },
    });
    c.emit('stop_stream');
    const stopped = await c.next((s) => s.name === 'stream_stopped' || s.name === 'error', 30_000, mark);
    expect(stopped.name).toBe('stream_stopped');
    const names = c.seen.slice(mark).map((s) => s.name);
    expect(names.indexOf('stream_started')).toBeLessThan(names.indexOf('stream_stopped'));
    c.close();
  });

  it('a burst of requests beyond the queue is refused with rate_limited; the socket keeps working', async () => {
    const c = await connected(1);
    await startStream(c, 'burst', { seed: 6, length: 10 });
    await c.next(named('stream_completed'));
    const mark = c.seen.length;
    for (let i = 0; i < 40; i++) c.emit('get_metrics');
    await waitFor(
      () => c.seen.slice(mark).filter((s) => s.name === 'metrics' || s.name === 'error').length >= 40,
      {
        what: 'an answer to each of the 40 requests',
        timeoutMs: 30_000,
      },
    );
    const answers = c.seen.slice(mark);
    const limited = answers.filter(
      (s) => s.name === 'error' && (s.payload as { code: string }).code === 'rate_limited',
    );
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.some((s) => s.name === 'metrics')).toBe(true);
    expect((limited[0]!.payload as { retryable: boolean }).retryable).toBe(true);
    const after = await request(c, 'get_metrics', undefined, oneOf('metrics', 'error'));
    expect(after.name).toBe('metrics');
    c.close();
  });
});

describe('socket.io door - resume_stream from a position on another gateway', () => {
  it('a client that drops mid-stream resumes on the second gateway: every token once, in order', async () => {
    const a = await connected(0);
    const sid = await startStream(a, 'resume me', { seed: 21, length: 200, tokensPerSecond: 100 });
    await waitFor(() => a.events(sid).length >= 5, { what: 'a few tokens on gateway 0' });
    a.close(); // a dropped connection is not a stop: the session keeps running
    const before = a.events(sid);
    const position = before.at(-1)!.position;

    const b = await connected(1);
    const resumed = await request(
      b,
      'resume_stream',
      { session_id: sid, position },
      oneOf('stream_resumed', 'error'),
    );
    expect(resumed.name).toBe('stream_resumed');
    expect(resumed.payload).toMatchObject({ session_id: sid, position });
    const done = await b.next(named('stream_completed'));
    expect(done.payload).toMatchObject({ session_id: sid, total_tokens: 200 });
    const after = b.events(sid);
    expect(after[0]!.position).toBeGreaterThan(position);
    const all = [...before, ...after];
    const positions = all.map((e) => e.position);
    expect(new Set(positions).size).toBe(positions.length);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    expect(all.map((e) => e.token ?? '').join('')).toBe(builtinText(21, 200));
    b.close();
  });
});

describe('socket.io door - the seed REST paths answer the seed shapes', () => {
  it('GET /api/v1/stream/sessions lists active sessions on any gateway; /health is the seed health', async () => {
    const c = await connected(0);
    const sid = await startStream(c, 'list me', { seed: 5, length: 3000, tokensPerSecond: 40 });
    await waitFor(() => c.events(sid).length >= 2, { what: 'first tokens' });
    const list = (await (await fetch(`${fabric.httpUrl(1)}/api/v1/stream/sessions`)).json()) as {
      active_sessions: Record<string, unknown>[];
      total_count: number;
    };
    expect(Object.keys(list).sort()).toEqual(['active_sessions', 'total_count']);
    expect(list.total_count).toBe(list.active_sessions.length);
    const mine = list.active_sessions.find((s) => s.session_id === sid)!;
    expect(Object.keys(mine).sort()).toEqual(['is_streaming', 'session_id', 'start_time', 'tokens_sent']);
    expect(mine.is_streaming).toBe(true);
    expect(mine.start_time).toMatch(ISO);
    expect(typeof mine.tokens_sent).toBe('number');

    const res = await fetch(`${fabric.httpUrl(0)}/api/v1/stream/health`);
    const health = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(200);
    expect(Object.keys(health).sort()).toEqual(['active_sessions', 'status', 'timestamp']);
    expect(health.status).toBe('healthy');
    expect(health.active_sessions).toBeGreaterThanOrEqual(1); // this gateway streams `sid`
    expect(health.timestamp).toMatch(ISO);

    await request(c, 'stop_stream', undefined, oneOf('stream_stopped', 'error'));
    await waitFor(
      async () => {
        const l = (await (await fetch(`${fabric.httpUrl(0)}/api/v1/stream/sessions`)).json()) as {
          active_sessions: { session_id: string }[];
        };
        return !l.active_sessions.some((s) => s.session_id === sid);
      },
      { what: 'the stopped session to leave the active list' },
    );
    c.close();
  });
});
