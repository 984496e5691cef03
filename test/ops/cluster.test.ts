import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamFabricClient } from '../../client/src/index.js';
import { ToolUnavailableError } from '../../scripts/tools/ensure-apt.js';
import { type LocalCluster, startCluster } from '../../scripts/topology/cluster.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { assertContiguous, RawClient } from '../harness/raw-client.js';

let cluster: LocalCluster | undefined;
let skipReason = '';

beforeAll(async () => {
  try {
    cluster = await startCluster({ gateways: 2, workers: 2, natsNodes: 3, scrapeIntervalSeconds: 1 });
  } catch (err) {
    if (!(err instanceof ToolUnavailableError)) throw err;
    skipReason = err.message;
    console.warn(`[cluster test] skipped: ${skipReason}`);
  }
}, 600_000);
afterAll(async () => {
  await cluster?.stop();
});

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

async function promQuery(expr: string): Promise<PromVector[]> {
  const r = await fetch(`${cluster!.prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const j = (await r.json()) as { status: string; data: { result: PromVector[] }; error?: string };
  if (j.status !== 'success') throw new Error(`${expr}: ${j.error}`);
  return j.data.result;
}

describe('local cluster - production topology on one machine', () => {
  it('streams sessions through HAProxy and Prometheus sees every target up with the latency histogram filled', async (ctx) => {
    if (!cluster) return ctx.skip(skipReason);
    // Sessions through the load balancer: connections spread over both gateways (leastconn).
    const clients = await Promise.all(Array.from({ length: 4 }, () => RawClient.connect(cluster!.lb.wsUrl)));
    const gatewaysSeen = new Set(clients.map((c) => c.frames.find((f) => f.type === 'welcome')?.gateway));
    expect(gatewaysSeen).toEqual(new Set(['gateway-1', 'gateway-2']));
    const sids = await Promise.all(
      clients.map(async (c, i) => {
        c.send({
          type: 'start',
          id: `s${i}`,
          input: `q${i}`,
          options: { seed: i, length: 40, tokensPerSecond: 200 },
        });
        return (await c.reply((r) => r.id === `s${i}`)).sid!;
      }),
    );
    for (const [i, c] of clients.entries()) assertContiguous(await c.finished(sids[i]!));
    for (const c of clients) c.close();

    // The session API answers through the load balancer too.
    const status = (await (await fetch(`${cluster.lb.url}/v1/sessions/${sids[0]}`)).json()) as {
      sid: string;
    };
    expect(status.sid).toBe(sids[0]);

    // Every scrape target is up: 2 gateways, 2 workers, HAProxy, Prometheus.
    const targets = await waitFor(
      async () => {
        const r = await fetch(`${cluster!.prometheus.url}/api/v1/targets?state=active`);
        const j = (await r.json()) as {
          data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] };
        };
        const t = j.data.activeTargets;
        return t.length === 6 && t.every((x) => x.health === 'up') ? t : null;
      },
      { timeoutMs: 30_000, what: 'all 6 Prometheus targets up' },
    );
    expect(new Set(targets.map((t) => t.labels.job))).toEqual(
      new Set(['streamfabric-gateway', 'streamfabric-worker', 'haproxy', 'prometheus']),
    );

    // The latency histogram is filled, on both gateways; workers report tokens and jobs.
    const latency = await waitFor(
      async () => {
        const r = await promQuery('sum by (service_id) (streamfabric_gateway_event_latency_seconds_count)');
        return r.length === 2 && r.every((v) => Number(v.value[1]) > 0) ? r : null;
      },
      { timeoutMs: 30_000, what: 'latency histogram samples from both gateways' },
    );
    expect(latency.map((v) => v.metric.service_id).sort()).toEqual(['gateway-1', 'gateway-2']);
    const buckets = await promQuery('streamfabric_gateway_event_latency_seconds_bucket{le="+Inf"}');
    expect(buckets.length).toBe(2);
    const tokens = await waitFor(
      async () => {
        const r = await promQuery('sum(streamfabric_worker_model_tokens_total)');
        return Number(r[0]?.value[1] ?? 0) >= 160 ? r : null;
      },
      { timeoutMs: 20_000, what: 'worker token counters' },
    );
    expect(Number(tokens[0]!.value[1])).toBeGreaterThanOrEqual(160);
    // HAProxy's own exporter: both gateway servers pass the /readyz health check.
    const up = await promQuery('haproxy_server_status{proxy="gateways",state="UP"}');
    expect(up.map((v) => [v.metric.server, v.value[1]]).sort()).toEqual([
      ['gateway-1', '1'],
      ['gateway-2', '1'],
    ]);
  }, 120_000);

  it('a gateway drained with SIGTERM leaves the HAProxy pool and its client resumes through the LB without a gap', async (ctx) => {
    if (!cluster) return ctx.skip(skipReason);
    const client = new StreamFabricClient({
      url: cluster.lb.wsUrl,
      WebSocket: WebSocket as never,
      backoff: { baseMs: 50, maxMs: 300 },
    });
    const session = await client.start({
      input: 'drain',
      options: { seed: 21, length: 300, tokensPerSecond: 100 },
    });
    const seqs: number[] = [];
    session.on('*', (e) => seqs.push(e.seq));
    await waitFor(() => seqs.length >= 3, { what: 'first events' });
    const victim = cluster.gateways.find((g) => g.id === client.gateway)!;
    expect(victim).toBeDefined();
    await victim.kill('SIGTERM');
    expect(await session.text()).toBe(builtinText(21, 300));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(client.gateway).not.toBe(victim.id);
    // HAProxy's active /readyz checks take the drained gateway out of the pool.
    await waitFor(
      async () => {
        const text = await (await fetch(cluster!.lb.metricsUrl)).text();
        return text.includes(`haproxy_server_status{proxy="gateways",server="${victim.id}",state="DOWN"} 1`);
      },
      { timeoutMs: 20_000, what: `HAProxy to mark ${victim.id} DOWN` },
    );
    client.close();
  }, 60_000);
});
