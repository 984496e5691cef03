import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import { clusterSnapshot, nodeShares } from '../../loadtest/bench/nats-nodes.js';
import { cpuSeconds, loadAverage, machineBusySeconds } from '../../loadtest/bench/proc-stats.js';
import { CommonConfig } from '../../shared/config/common-config.js';
import { spreadLeaders } from '../../shared/nats/leaders.js';
import { provisionFabric } from '../../shared/nats/provision.js';
import { eventMsgId, eventsStream, setPartitionLayout, subjects } from '../../shared/nats/subjects.js';
import { startNats } from '../topology/nats-process.js';

/**
 * `npm run bench:leader [-- --rates 2000,4000,8000,16000 --seconds 8 --sync always --partitions 3]`:
 * where one partition leader saturates its node (with --partitions: what P spread leaders reach
 * together). A 3-node cluster, the fabric's own streams provisioned (R3), and this process writing session events straight into the EVENTS stream(s) the way workers
 * do (per-session subject, Nats-Msg-Id, expected last subject sequence, one write in flight per
 * session, ~415-byte events like the benchmark's) at a rising target rate. No gateway or worker
 * runs, so on a small box the NATS nodes get most of the CPU. Per step: events/s acked, ack
 * latency, each node's CPU and what it leads. Stops when the target rate is no longer reached
 * (ack p99 is recorded; the highest rate with p99 <= 200 ms is reported). Writes
 * bench/results/leader-saturation-p<P>-<sync>-<date>.json.
 */
const { values: v } = parseArgs({
  options: {
    rates: { type: 'string', default: '1000,2000,4000,8000,16000' },
    seconds: { type: 'string', default: '8' },
    sessions: { type: 'string', default: '2000' },
    sync: { type: 'string', default: 'default' },
    partitions: { type: 'string', default: '1' },
  },
});
const partitions = Number(v.partitions);
const rates = v.rates.split(',').map(Number);
const seconds = Number(v.seconds);
const sessions = Number(v.sessions);
if (v.sync !== 'default' && v.sync !== 'always') throw new Error('--sync default|always');

const log = (m: string) => process.stderr.write(`[leader] ${m}\n`);
const text = 'x'.repeat(300);

async function main(): Promise<void> {
  const nats = await startNats({
    nodes: 3,
    ...(v.sync === 'always' ? { jetstreamExtra: 'sync_interval: always' } : {}),
  });
  const steps: Record<string, unknown>[] = [];
  try {
    setPartitionLayout(partitions);
    const nc = await connect({ servers: nats.urls.split(',') });
    // Like a service at start: a just-formed cluster may not answer every request yet, try again.
    const config = CommonConfig.parse({ NATS_REPLICAS: '3', NATS_PARTITIONS: String(partitions) });
    for (let attempt = 1; ; attempt++) {
      try {
        await provisionFabric(nc, config);
        break;
      } catch (err) {
        if (attempt >= 10) throw err;
        log(`provisioning failed (${String(err).slice(0, 120)}), again`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    // P > 1: partition i led by node i, as `npm run nats:spread` does.
    if (partitions > 1)
      log(`leaders: ${(await spreadLeaders(nc)).map((p) => `${p.stream}@${p.leader}`).join(' ')}`);
    const jsm = await jetstreamManager(nc);
    const sids = Array.from({ length: sessions }, (_, i) => `s_lead${String(i).padStart(8, '0')}`);
    const last = new Map<string, number>(sids.map((s) => [s, 0]));
    const seq = new Map<string, number>(sids.map((s) => [s, 0]));
    const idle: string[] = [...sids];
    const inbox = `_INBOX.leader.${Date.now()}`;
    const pending = new Map<string, { sid: string; t0: number }>();
    const lat: number[] = [];
    let acked = 0;
    let errors = 0;
    nc.subscribe(`${inbox}.*`, {
      callback: (_e, m) => {
        const token = m.subject.slice(inbox.length + 1);
        const p = pending.get(token);
        if (!p) return;
        pending.delete(token);
        const ack = m.json<{ seq?: number; error?: unknown }>();
        if (ack.seq) {
          last.set(p.sid, ack.seq);
          acked++;
          lat.push(performance.now() - p.t0);
        } else errors++;
        idle.push(p.sid);
      },
    });
    let token = 0;
    const send = (sid: string) => {
      const n = (seq.get(sid) ?? 0) + 1;
      seq.set(sid, n);
      const h = headers();
      h.set('Nats-Msg-Id', eventMsgId(sid, n, 'leader-bench'));
      h.set('Nats-Expected-Last-Subject-Sequence', String(last.get(sid) ?? 0));
      const t = (token++).toString(36);
      pending.set(t, { sid, t0: performance.now() });
      const ev = { type: 'token', sid, seq: n, ts: Date.now(), text, prevPos: last.get(sid), epoch: 'e1' };
      nc.publish(subjects.events('public', sid), JSON.stringify(ev), { headers: h, reply: `${inbox}.${t}` });
    };
    const pids = Object.fromEntries(nats.nodes.map((n) => [n.name, n.process!.pid!]));
    // Warm-up (leaders elected, files open): one write per session, not measured.
    for (const sid of idle.splice(0, idle.length)) send(sid);
    const warm = performance.now() + 15_000;
    while (pending.size > 0 && performance.now() < warm) await new Promise((r) => setTimeout(r, 20));
    for (const rate of rates) {
      lat.length = 0;
      acked = 0;
      errors = 0;
      const snap0 = await clusterSnapshot(nats.nodes);
      const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuSeconds(p)]));
      const self0 = process.cpuUsage();
      const busy0 = machineBusySeconds();
      const t0 = performance.now();
      let sent = 0;
      // Paced in 10 ms ticks: as many new writes as the target rate allows, from idle sessions.
      while (performance.now() - t0 < seconds * 1000) {
        const due = Math.floor(((performance.now() - t0) / 1000) * rate);
        while (sent < due && idle.length > 0) {
          send(idle.shift()!);
          sent++;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      const secs = (performance.now() - t0) / 1000;
      const cores = Object.fromEntries(
        Object.entries(pids).map(([k, p]) => [k, (cpuSeconds(p) - cpu0[k]!) / secs]),
      );
      const self = process.cpuUsage(self0);
      const busy = (machineBusySeconds() - busy0) / secs;
      const snap1 = await clusterSnapshot(nats.nodes);
      const nodes = nodeShares(snap0, snap1, cores, secs);
      lat.sort((a, b) => a - b);
      const q = (p: number) =>
        Math.round((lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0) * 100) / 100;
      // The busiest EVENTS leader (at P = 1 the only one).
      const leader = [...nodes]
        .filter((n) => n.leads.some((l) => sids.some((sid) => eventsStream(sid) === l)))
        .sort((a, b) => b.ledEventsPerSec - a.ledEventsPerSec)[0];
      const step = {
        targetPerSec: rate,
        ackedPerSec: Math.round(acked / secs),
        errors,
        ackMs: { p50: q(0.5), p99: q(0.99) },
        leader: leader?.node,
        leaderCpuCores: leader?.cpuCores,
        // µs of the leader node per event it led.
        leaderUsPerEvent:
          leader && leader.ledEventsPerSec > 0
            ? Math.round((leader.cpuCores * 1e6) / leader.ledEventsPerSec)
            : null,
        nodes,
        publisherCores: Math.round(((self.user + self.system) / 1e6 / secs) * 100) / 100,
        machine: { busyCores: Math.round(busy * 100) / 100, loadAvg1: loadAverage() },
      };
      steps.push(step);
      log(
        `target ${rate}/s: acked ${step.ackedPerSec}/s, ack p50 ${step.ackMs.p50} p99 ${step.ackMs.p99} ms, ` +
          `leader ${step.leader} ${step.leaderCpuCores} cores (${step.leaderUsPerEvent} µs/event), nodes ` +
          `${nodes.map((n) => `${n.node} ${n.cpuCores}`).join(' ')}, publisher ${step.publisherCores} cores, ` +
          `box busy ${step.machine.busyCores} cores, load avg ${step.machine.loadAvg1}`,
      );
      // Let the in-flight writes land before the next step.
      const drainUntil = performance.now() + 5_000;
      while (pending.size > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 20));
      if (step.ackedPerSec < rate * 0.9) break;
    }
    const info = await jsm.streams.info(eventsStream(sids[0]!));
    log(`${info.config.name} holds ${info.state.messages} events, ${info.state.bytes} bytes`);
    await nc.close();
  } finally {
    await nats.stop();
  }
  const maxHeld = steps.filter((s) => (s.ackMs as { p99: number }).p99 <= 200).at(-1);
  const result = {
    what:
      `FABRIC_EVENTS at P = ${partitions}, R3 on a 3-node cluster on this box, written directly like workers do; ` +
      `nats-server fsync ${v.sync === 'always' ? 'sync_interval: always' : 'default (lazy)'}`,
    command: `npm run bench:leader -- --rates ${v.rates} --seconds ${seconds} --sessions ${sessions} --sync ${v.sync} --partitions ${partitions}`,
    partitions,
    date: new Date().toISOString(),
    steps,
    highestRateAtP99Under200ms: maxHeld ? (maxHeld.ackedPerSec as number) : 0,
  };
  const dir = resolve('bench/results');
  mkdirSync(dir, { recursive: true });
  const file = resolve(
    dir,
    `leader-saturation-p${partitions}-${v.sync}-${result.date.replace(/[:.]/g, '-')}.json`,
  );
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`leader bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
