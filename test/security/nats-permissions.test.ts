import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTool, NATS_SERVER } from '../../scripts/tools/ensure-tool.js';
import { freePort } from '../../scripts/topology/free-port.js';
import {
  killAllServices,
  type ServiceProcess,
  spawnService,
} from '../../scripts/topology/service-process.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { EVENTS_STREAM, partitionOf, subjects } from '../../shared/nats/subjects.js';
import { RawClient, tokenText } from '../harness/raw-client.js';
import { hsToken, TEST_SECRET } from '../harness/tokens.js';

/** The example file from deploy/nats, included unchanged by a real nats-server. */
const PERMISSIONS_FILE = resolve('deploy/nats/tenant-permissions.conf');
const PASSWORDS = {
  SF_NATS_GATEWAY_PASSWORD: 'gw-pass-for-tests',
  SF_NATS_WORKER_PASSWORD: 'wk-pass-for-tests',
  SF_NATS_TENANT_ACME_PASSWORD: 'acme-pass-for-tests',
};

let dir: string;
let server: ChildProcess;
let url: string;
const services: ServiceProcess[] = [];
const conns: NatsConnection[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sf-nats-perm-'));
  copyFileSync(PERMISSIONS_FILE, join(dir, 'tenant-permissions.conf'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'server.conf'),
    [
      'host: 127.0.0.1',
      `port: ${port}`,
      `jetstream { store_dir: "${join(dir, 'js')}" }`,
      'include ./tenant-permissions.conf',
    ].join('\n'),
  );
  server = spawn(ensureTool(NATS_SERVER), ['-c', join(dir, 'server.conf')], {
    env: { ...process.env, ...PASSWORDS },
    stdio: 'ignore',
  });
  url = `nats://127.0.0.1:${port}`;
  await waitFor(() => tcpOpen(port), { timeoutMs: 20_000, what: 'nats-server with the example permissions' });
  const common = { NATS_URL: url, STREAM_LOG_LEVEL: 'warn' };
  services.push(
    await spawnService('gateway', { env: { ...scopedGatewayEnv(common), STREAM_LOG_LEVEL: 'info' } }),
  );
  services.push(
    await spawnService('worker', {
      env: {
        ...common,
        NATS_USER: 'worker',
        NATS_PASSWORD: PASSWORDS.SF_NATS_WORKER_PASSWORD,
        STREAM_LOG_LEVEL: 'info',
      },
    }),
  );
});
afterAll(async () => {
  for (const c of conns) await c.close().catch(() => undefined);
  await Promise.allSettled(services.map((s) => s.kill('SIGKILL')));
  killAllServices();
  server?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function tenantConnection(): Promise<{ nc: NatsConnection; violations: string[] }> {
  const nc = await connect({
    servers: url,
    user: 'tenant-acme',
    pass: PASSWORDS.SF_NATS_TENANT_ACME_PASSWORD,
    inboxPrefix: '_INBOX_acme',
  });
  conns.push(nc);
  const violations: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') violations.push(String(s.error));
  })();
  return { nc, violations };
}

/** Runs a session of `tenant` through the gateway and returns its sid once done. */
async function runSession(tenant: string, seed: number, onStarted?: (sid: string) => Promise<void>) {
  const token = await hsToken({ sub: 'svc', tenant });
  const c = await RawClient.connect(`ws://127.0.0.1:${services[0]!.port}/v1/ws`, [
    'streamfabric.v1',
    `bearer.${token}`,
  ]);
  c.send({
    type: 'start',
    id: 1,
    input: 'x',
    options: { seed, length: 30, tokensPerSecond: 60, thinkMs: 300 },
  });
  const sid = (await c.reply((r) => r.id === 1)).sid!;
  await onStarted?.(sid);
  const events = await c.finished(sid);
  c.close();
  return { sid, events };
}

describe('nats - example tenant permissions (deploy/nats/tenant-permissions.conf)', () => {
  it('lets gateways and workers run the fabric with their scoped users', async () => {
    const { events } = await runSession('acme', 7);
    expect(tokenText(events)).toBe(builtinText(7, 30));
  });

  it('lets gateways and workers run a grown fabric (NATS_PARTITIONS=3) with their scoped users, in every partition', async () => {
    // Growing 1 -> 3 on the same server (docs/partitions.md): workers first, then a gateway.
    const common = { NATS_URL: url, STREAM_LOG_LEVEL: 'info', NATS_PARTITIONS: '3' };
    const worker = await spawnService('worker', {
      env: { ...common, NATS_USER: 'worker', NATS_PASSWORD: PASSWORDS.SF_NATS_WORKER_PASSWORD },
    });
    services.push(worker);
    const gateway = await spawnService('gateway', { env: scopedGatewayEnv(common) });
    services.push(gateway);
    const token = await hsToken({ sub: 'svc', tenant: 'acme' });
    const c = await RawClient.connect(`ws://127.0.0.1:${gateway.port}/v1/ws`, [
      'streamfabric.v1',
      `bearer.${token}`,
    ]);
    const { nc } = await tenantConnection();
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    for (const p of [0, 1, 2]) {
      let sid = '';
      for (let i = 0; partitionOf(sid, 3) !== p || !sid; i++) sid = `s_perm3_${p}_${i}`;
      c.send({ type: 'start', id: `p${p}`, sid, input: 'x', options: { seed: p, length: 12 } });
      expect((await c.reply((r) => r.id === `p${p}`, 20_000)).ok).toBe(true);
      const events = await c.finished(sid);
      expect(tokenText(events)).toBe(builtinText(p, 12));
      // The tenant reads the last stored event of its own session from the partition's stream.
      const last = await jsm.direct.getMessage(`FABRIC_EVENTS_${p}`, {
        last_by_subj: `${subjects.events('acme', sid)}.${p}`,
      });
      expect(last?.json<{ type: string }>().type).toBe('done');
    }
    c.close();
  });

  it('lets gateways serve Durable Streams with their scoped user (command log publish and replay)', async () => {
    const base = `http://127.0.0.1:${services[0]!.port}/v1/stream/perm-${Date.now()}`;
    const headers = {
      authorization: `Bearer ${await hsToken({ sub: 'u', tenant: 'acme' })}`,
      'content-type': 'text/plain',
    };
    expect((await fetch(base, { method: 'PUT', headers })).status).toBe(201);
    expect((await fetch(base, { method: 'POST', headers, body: 'allowed' })).status).toBe(204);
    expect(await (await fetch(`${base}?offset=-1`, { headers })).text()).toBe('allowed');
  });

  it('lets a tenant follow and read its own sessions, and nothing of another tenant', async () => {
    const { nc, violations } = await tenantConnection();
    const seen: string[] = [];
    const own = nc.subscribe('fabric.live.acme.>', {
      callback: (_e, m) => {
        seen.push(m.subject);
      },
    });
    const other = nc.subscribe('fabric.live.globex.>');
    const snoop = nc.subscribe('_INBOX.>');
    const acme = await runSession('acme', 8);
    const globex = await runSession('globex', 9);
    await waitFor(() => seen.length >= acme.events.length, { what: 'own live events' });
    expect(seen.every((s) => s === subjects.live('acme', acme.sid))).toBe(true);
    // The server refuses the other subscriptions.
    await waitFor(
      () => violations.filter((v) => /Permissions Violation for Subscription/i.test(v)).length >= 2,
      {
        what: 'subscription violations',
      },
    );
    expect(other.getProcessed()).toBe(0);
    expect(snoop.getProcessed()).toBe(0);

    const jsm = await jetstreamManager(nc, { checkAPI: false });
    const last = await jsm.direct.getMessage(EVENTS_STREAM, {
      last_by_subj: subjects.events('acme', acme.sid),
    });
    expect(last?.json<{ type: string }>().type).toBe('done');
    await expect(
      jsm.direct.getMessage(EVENTS_STREAM, { last_by_subj: subjects.events('globex', globex.sid) }),
    ).rejects.toThrow(/permission/i);
    own.unsubscribe();
  });

  it('refuses a tenant that tries to queue jobs, forge events or cancel sessions', async () => {
    const { nc, violations } = await tenantConnection();
    const before = violations.length;
    nc.publish(subjects.job('builtin'), '{}');
    nc.publish(subjects.events('acme', 's_forged0001'), '{}');
    nc.publish(subjects.control('s_anything01'), '{"type":"cancel","sid":"s_anything01"}');
    await nc.flush();
    await waitFor(() => violations.length - before >= 3, { what: 'publish violations' });
    expect(violations.slice(before).every((v) => /Permissions Violation for Publish/i.test(v))).toBe(true);
  });
});

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = createConnection({ port, host: '127.0.0.1' }, () => {
      s.destroy();
      r(true);
    });
    s.on('error', () => r(false));
  });
}

/** A gateway with JWT auth, connecting as the example permissions' `gateway` NATS user. */
function scopedGatewayEnv(common: Record<string, string>): Record<string, string> {
  return {
    ...common,
    WEBSOCKET_PORT: '0',
    AUTH_MODE: 'jwt',
    AUTH_JWT_SECRET: TEST_SECRET,
    NATS_USER: 'gateway',
    NATS_PASSWORD: PASSWORDS.SF_NATS_GATEWAY_PASSWORD,
  };
}
