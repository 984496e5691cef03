import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { hsToken, TEST_SECRET } from '../harness/tokens.js';
import { SeedClient, type Seen } from './seed-client.js';

// The Socket.IO door passes the same checks as the WebSocket and HTTP routes: the bearer token
// (jwt mode), the origin allowlist (CORS_ORIGINS) and ownership of sessions; SOCKETIO_AGENTS
// decides which `agent_type` starts which agent.
let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({
    gateways: 1,
    workers: 1,
    gatewayEnv: {
      AUTH_MODE: 'jwt',
      AUTH_JWT_SECRET: TEST_SECRET,
      CORS_ORIGINS: 'https://app.example.com',
      SOCKETIO_AGENTS: 'assistant=builtin,writer=builtin',
    },
  });
});
afterAll(async () => {
  await fabric?.stop();
});

const token = (sub: string) => hsToken({ tenant: 'acme', sub });
const first = (c: SeedClient, ...names: string[]) => c.next((s: Seen) => names.includes(s.name), 30_000, 0);

describe('socket.io door - authentication, origins, ownership, agent mapping', () => {
  it('refuses a connection without a token with a typed connect_error', async () => {
    const c = SeedClient.connect(fabric.httpUrl(0));
    const r = await first(c, 'connected', 'connect_error');
    expect(r.name).toBe('connect_error');
    expect((r.payload as { data: { code: string } }).data).toMatchObject({
      code: 'unauthenticated',
      retryable: false,
    });
    c.close();
  });

  it('refuses an origin outside CORS_ORIGINS, even with a valid token (long-polling too)', async () => {
    const viaPolling = async (origin: string) => {
      const c = SeedClient.connect(fabric.httpUrl(0), {
        auth: { token: await token('alice') },
        extraHeaders: { origin },
        transports: ['polling'],
      });
      const r = await first(c, 'connected', 'connect_error');
      c.close();
      return r.name;
    };
    expect(await viaPolling('https://evil.test')).toBe('connect_error');
    expect(await viaPolling('https://app.example.com')).toBe('connected');
  });

  it("streams for the token's user; another user may not resume it; agent_type follows SOCKETIO_AGENTS", async () => {
    const alice = SeedClient.connect(fabric.httpUrl(0), {
      auth: { token: await token('alice') },
      extraHeaders: { origin: 'https://app.example.com' },
    });
    expect((await first(alice, 'connected', 'connect_error')).name).toBe('connected');
    alice.emit('start_stream', { agent_type: 'user_proxy', message: 'hi' });
    const refused = await alice.next((s) => s.name === 'error');
    expect(refused.payload).toMatchObject({
      error: 'Unsupported agent type: user_proxy',
      code: 'invalid_argument',
    });
    alice.emit('start_stream', { agent_type: 'writer', message: 'hi', options: { seed: 4, length: 12 } });
    const started = await alice.next((s) => s.name === 'stream_started');
    const sid = (started.payload as { session_id: string }).session_id;
    await alice.next((s) => s.name === 'stream_completed');

    const bob = SeedClient.connect(fabric.httpUrl(0), { auth: { token: await token('bob') } });
    expect((await first(bob, 'connected', 'connect_error')).name).toBe('connected');
    bob.emit('resume_stream', { session_id: sid, position: 0 });
    const denied = await bob.next((s) => s.name === 'error' || s.name === 'stream_resumed');
    expect(denied.payload).toMatchObject({ code: 'forbidden' });

    // The seed's session list needs the token too, and shows only the caller's tenant.
    expect((await fetch(`${fabric.httpUrl(0)}/api/v1/stream/sessions`)).status).toBe(401);
    const list = await fetch(`${fabric.httpUrl(0)}/api/v1/stream/sessions`, {
      headers: { authorization: `Bearer ${await token('alice')}` },
    });
    expect(list.status).toBe(200);
    expect(await list.json()).toMatchObject({ total_count: expect.any(Number) });
    alice.close();
    bob.close();
  });
});
