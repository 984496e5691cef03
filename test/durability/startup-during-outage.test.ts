import { afterAll, describe, expect, it } from 'vitest';
import { type NatsCluster, startNats } from '../../scripts/topology/nats-process.js';
import {
  killAllServices,
  type ServiceProcess,
  spawnService,
} from '../../scripts/topology/service-process.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';
import { startSession } from './helpers.js';

// A gateway and a worker started while the NATS cluster has lost its JetStream quorum (two nodes
// of three down, as in a bad rolling restart) wait for it instead of crashing at provisioning.
let nats: NatsCluster | undefined;
const services: ServiceProcess[] = [];

afterAll(async () => {
  await Promise.allSettled(services.map((s) => s.kill('SIGKILL')));
  killAllServices();
  await nats?.stop();
});

describe('broker failure - services started during an outage', () => {
  it('a gateway and a worker started without a JetStream quorum wait for it, then serve', async () => {
    nats = await startNats({ nodes: 3 });
    await Promise.all([nats.nodes[1]!.kill(), nats.nodes[2]!.kill()]);
    const env = { NATS_URL: nats.urls, NATS_REPLICAS: '3', WEBSOCKET_PORT: '0', AUTH_MODE: 'dev' };
    const starting = [
      spawnService('gateway', { env, timeoutMs: 90_000 }),
      spawnService('worker', { env, timeoutMs: 90_000 }),
    ];
    // Neither may exit while the cluster cannot answer; both report that they are retrying.
    let exitedEarly: unknown = null;
    for (const p of starting) p.catch((err: unknown) => (exitedEarly = err));
    await new Promise((r) => setTimeout(r, 4_000));
    expect(exitedEarly).toBeNull();

    await Promise.all([nats.nodes[1]!.restart(), nats.nodes[2]!.restart()]);
    const [gateway, worker] = await Promise.all(starting);
    services.push(gateway!, worker!);
    const retried = [...gateway!.logs, ...worker!.logs].filter(
      (r) => r.msg === 'startup step failed; retrying',
    );
    expect(retried.length).toBeGreaterThan(0);

    const c = await RawClient.connect(`ws://127.0.0.1:${gateway!.port}/v1/ws`);
    const sid = await startSession(c, 'quorum', { seed: 31, length: 25, tokensPerSecond: 0 });
    const events = await c.finished(sid, 60_000);
    assertContiguous(events);
    expect(events.at(-1)!.type).toBe('done');
    expect(tokenText(events)).toBe(builtinText(31, 25));
    c.close();
  }, 150_000);
});
