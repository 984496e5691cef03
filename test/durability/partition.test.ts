import { execFileSync } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsCluster, startNats } from '../../scripts/topology/nats-process.js';
import {
  killAllServices,
  type ServiceProcess,
  spawnService,
} from '../../scripts/topology/service-process.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { EVENTS_STREAM } from '../../shared/nats/subjects.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';
import { startSession } from './helpers.js';

// A node cut off, not killed: nats-server n3 runs in its own network namespace, joined to the
// host by a veth pair; taking the link down isolates it from the other two nodes and from every
// client, with open TCP connections left hanging (no RST), like a real partition. n3 is made the
// EVENTS stream leader first, so the partition takes the log's leader away mid-stream.
const tag = `${process.pid % 100_000}`;
const NS = `sfpart${tag}`;
const HOST_IF = `sfh${tag}`;
const NS_IF = `sfn${tag}`;
const octet = (process.pid % 200) + 20;
const HOST_IP = `10.213.${octet}.1`;
const NS_IP = `10.213.${octet}.2`;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
/** Network namespaces need root and iproute2; without them n3 is frozen with SIGSTOP instead. */
const NETNS = (() => {
  try {
    ip('netns', 'add', NS);
    return true;
  } catch {
    return false;
  }
})();
let nats: NatsCluster;
const services: ServiceProcess[] = [];
let majority: string;
let minority: string;

beforeAll(async () => {
  if (!NETNS) {
    process.stderr.write('[partition] no network namespaces here: freezing n3 with SIGSTOP instead\n');
    nats = await startNats({ nodes: 3 });
    return startServices();
  }
  ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
  ip('link', 'set', NS_IF, 'netns', NS);
  ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF);
  ip('link', 'set', HOST_IF, 'up');
  ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_IP}/30`, 'dev', NS_IF);
  ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
  ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
  nats = await startNats({
    nodes: 3,
    nodeHosts: [HOST_IP, HOST_IP, NS_IP],
    nodeCommand: (i) => (i === 2 ? ['ip', 'netns', 'exec', NS] : []),
  });
  await startServices();
}, 90_000);

async function startServices(): Promise<void> {
  const [n1, n2, n3] = nats.nodes.map((n) => n.url);
  majority = `${n1},${n2}`;
  minority = n3!;
  // A write caught by the cut (its ack never comes) fail-stops its writer and the job comes back
  // after the ack wait: keep that short so the majority side goes on within the test's window.
  const env = {
    NATS_REPLICAS: '3',
    AUTH_MODE: 'dev',
    STREAM_LOG_LEVEL: 'info',
    WEBSOCKET_PORT: '0',
    WORKER_ACK_WAIT_MS: '3000',
  };
  // Gateway 0 and the workers talk to the majority side; gateway 1 only to the node cut off.
  services.push(await spawnService('gateway', { env: { ...env, NATS_URL: majority } }));
  services.push(await spawnService('gateway', { env: { ...env, NATS_URL: minority } }));
  services.push(await spawnService('worker', { env: { ...env, NATS_URL: majority } }));
}

afterAll(async () => {
  await Promise.allSettled(services.map((s) => s.kill('SIGKILL')));
  killAllServices();
  if (nats) {
    link('up');
    await nats.stop();
  }
  if (!NETNS) return;
  try {
    ip('link', 'del', HOST_IF);
  } catch {}
  try {
    ip('netns', 'del', NS);
  } catch {}
});

function link(state: 'up' | 'down'): void {
  if (NETNS) ip('link', 'set', HOST_IF, state);
  else nats.nodes[2]?.process?.kill(state === 'up' ? 'SIGCONT' : 'SIGSTOP');
}

async function eventsLeader(): Promise<string> {
  const nc = await connect({ servers: majority.split(',') });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    return (await jsm.streams.info(EVENTS_STREAM)).cluster?.leader ?? '';
  } finally {
    await nc.close();
  }
}

/** Steps the EVENTS leader down until n3 (the node to cut off) leads. */
async function makeLeader(node: string): Promise<void> {
  const nc = await connect({ servers: majority.split(',') });
  try {
    await waitFor(
      async () => {
        if ((await eventsLeader().catch(() => '')) === node) return true;
        await nc
          .request(`$JS.API.STREAM.LEADER.STEPDOWN.${EVENTS_STREAM}`, '', { timeout: 5_000 })
          .catch(() => undefined);
        await new Promise((r) => setTimeout(r, 1_000));
        return false;
      },
      { timeoutMs: 45_000, intervalMs: 100, what: `${node} to lead ${EVENTS_STREAM}` },
    );
  } finally {
    await nc.close();
  }
}

describe(`partition - one NATS node of three cut off (${NETNS ? 'network namespace' : 'SIGSTOP'})`, () => {
  it('streams through both gateways lose, duplicate and reorder nothing once it heals', async () => {
    await makeLeader('n3');
    const port = (i: number) => services[i]!.port;
    const clients = [
      await RawClient.connect(`ws://127.0.0.1:${port(0)}/v1/ws`),
      await RawClient.connect(`ws://127.0.0.1:${port(1)}/v1/ws`),
    ];
    const specs = Array.from({ length: 8 }, (_, i) => ({
      seed: 700 + i,
      length: 1000, // ~25 s at 40 tokens/s: the streams are still running when the cut comes, however loaded the box
      client: clients[i % 2]!,
    }));
    const sids = await Promise.all(
      specs.map((s, i) =>
        startSession(s.client, `p${i}`, {
          seed: s.seed,
          length: s.length,
          tokensPerSecond: 40,
          flushIntervalMs: 0,
        }),
      ),
    );
    await waitFor(() => sids.every((sid, i) => specs[i]!.client.events(sid).length >= 10), {
      timeoutMs: 30_000,
      what: 'streams running',
    });
    link('down');
    // The majority elects a new EVENTS leader and writes go on; the gateway on n3 sees nothing.
    await waitFor(async () => ['n1', 'n2'].includes(await eventsLeader().catch(() => '')), {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'a new EVENTS leader on the majority side',
    });
    const majorityIdx = specs.map((s, i) => (s.client === clients[0] ? i : -1)).filter((i) => i >= 0);
    const before = majorityIdx.map((i) => clients[0]!.events(sids[i]!).length);
    await waitFor(() => majorityIdx.some((i, k) => clients[0]!.events(sids[i]!).length > before[k]! + 20), {
      timeoutMs: 90_000,
      what: 'streams on the majority side to go on during the partition',
    });
    link('up');
    for (const [i, s] of specs.entries()) {
      const evs = await s.client.finished(sids[i]!, 120_000);
      assertContiguous(evs);
      expect(tokenText(evs)).toBe(builtinText(s.seed, s.length));
      expect(evs.at(-1)?.type).toBe('done');
    }
    for (const c of clients) c.close();
  }, 240_000);
});
