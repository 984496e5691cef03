import { cpSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { WebSocket } from 'ws';
import { StreamFabricClient } from '../../client/src/index.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { eventsStream, subjects } from '../../shared/nats/subjects.js';
import type { SessionEvent } from '../../shared/protocol/index.js';
import { startNats } from '../topology/nats-process.js';
import { killAllServices, spawnService } from '../topology/service-process.js';
import { waitFor } from '../topology/wait.js';

/**
 * `npm run chaos:cluster-crash -- [--sessions 20] [--rounds 1]`: the whole NATS cluster loses
 * power mid-stream. Three nodes, streams R3; SIGKILL all three at once while sessions stream,
 * restart them, and compare what each client had received (acknowledged: a gateway forwards only
 * stored events) with the log after the restart. Once with NATS's default sync (fsync every
 * 2 min) and once with `sync_interval: always`. Writes bench/results/<date>-cluster-crash.{json,md}.
 */
interface Received {
  seq: number;
  epoch: string | undefined;
  type: string;
}

interface SessionResult {
  sid: string;
  receivedBeforeCrash: number;
  /** Events a client held before the crash that the log no longer holds (same seq, same epoch). */
  ackedLost: number;
  rewrites: number;
  outcome: string;
  textOk: boolean;
  /** The client's final events differ from the final log with no `log_rewritten`: must be 0. */
  silentMismatch: boolean;
}

async function readLog(urls: string, sid: string): Promise<SessionEvent[]> {
  const nc = await connect({ servers: urls.split(',') });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const out: SessionEvent[] = [];
    const iter = await jsm.direct
      .getBatch(eventsStream(sid), { seq: 1, batch: 100_000, next_by_subj: subjects.events('public', sid) })
      .catch(() => null);
    if (!iter) return out;
    for await (const m of iter) {
      out.push(m.json<SessionEvent>());
      if (m.pending === 0) break;
    }
    return out;
  } finally {
    await nc.close();
  }
}

/**
 * `kill`: SIGKILL of every node (the processes die; the kernel's page cache survives them).
 * `rollback`: a simulated power loss under lazy fsync: every node is frozen (SIGSTOP) while its
 * store is copied (the state at the "last fsync"), streaming goes on for `rollbackMs` (events
 * acknowledged after that point), then every node is killed and its store replaced by the copy.
 */
type CrashMode = 'kill' | 'rollback';

async function round(
  sync: 'default' | 'always',
  sessions: number,
  mode: CrashMode = 'kill',
  rollbackMs = 2_000,
) {
  const nats = await startNats({
    nodes: 3,
    ...(sync === 'always' ? { jetstreamExtra: 'sync_interval: always' } : {}),
  });
  const env = {
    NATS_URL: nats.urls,
    NATS_REPLICAS: '3',
    AUTH_MODE: 'dev',
    WEBSOCKET_PORT: '0',
    STREAM_LOG_LEVEL: 'info',
  };
  const gateway = await spawnService('gateway', { env });
  const worker = await spawnService('worker', { env });
  const client = new StreamFabricClient({
    url: `ws://127.0.0.1:${gateway.port}/v1/ws`,
    WebSocket: WebSocket as never,
    backoff: { baseMs: 100, maxMs: 1_000 },
    retryTimeoutMs: 120_000,
  });
  const specs = Array.from({ length: sessions }, (_, i) => ({ seed: 5_000 + i, length: 400 }));
  const live = await Promise.all(
    specs.map((s) =>
      client.start({ input: 'crash', options: { ...s, tokensPerSecond: 50, flushIntervalMs: 0 } }),
    ),
  );
  const received = live.map(() => [] as Received[]);
  let crashed = false;
  const before = live.map(() => [] as Received[]);
  live.forEach((s, i) => {
    s.on('*', (ev) => {
      const r = { seq: ev.seq, epoch: ev.epoch, type: ev.type };
      received[i]!.push(r);
      if (!crashed) before[i]!.push(r);
    });
    s.onRewritten(() => {
      received[i]!.length = 0;
    });
  });
  await waitFor(() => live.every((s) => s.events.length >= 40), {
    timeoutMs: 60_000,
    what: 'streams running',
  });
  if (mode === 'rollback') {
    for (const n of nats.nodes) n.process?.kill('SIGSTOP');
    for (const n of nats.nodes) cpSync(n.storeDir, `${n.storeDir}.synced`, { recursive: true });
    for (const n of nats.nodes) n.process?.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, rollbackMs));
  }
  crashed = true;
  const crashAt = Date.now();
  await Promise.all(nats.nodes.map((n) => n.kill()));
  if (mode === 'rollback') {
    for (const n of nats.nodes) {
      rmSync(n.storeDir, { recursive: true, force: true });
      renameSync(`${n.storeDir}.synced`, n.storeDir);
    }
  }
  await new Promise((r) => setTimeout(r, 1_000));
  await Promise.all(nats.nodes.map((n) => n.restart()));
  await Promise.all(
    live.map((s) => Promise.race([s.finishedEvent(), new Promise((r) => setTimeout(r, 120_000))])),
  );
  const results: SessionResult[] = [];
  for (const [i, s] of live.entries()) {
    const log = await readLog(nats.urls, s.sid);
    const bySeq = new Map(log.map((e) => [e.seq, e.epoch]));
    const ackedLost = before[i]!.filter((e) => !bySeq.has(e.seq) || bySeq.get(e.seq) !== e.epoch).length;
    const finalClient = s.events.map((e) => `${e.seq}/${e.epoch}`).join(',');
    const finalLog = log.map((e) => `${e.seq}/${e.epoch}`).join(',');
    const last = s.events.at(-1);
    results.push({
      sid: s.sid,
      receivedBeforeCrash: before[i]!.length,
      ackedLost,
      rewrites: s.rewrites,
      outcome: s.finished ? (last?.type ?? 'refused') : 'unfinished',
      textOk: s.finished && s.currentText === builtinText(specs[i]!.seed, specs[i]!.length),
      silentMismatch: s.finished && finalClient !== finalLog && s.error === null,
    });
  }
  client.close();
  await Promise.allSettled([gateway.kill('SIGKILL'), worker.kill('SIGKILL')]);
  killAllServices();
  await nats.stop();
  const sum = (f: (r: SessionResult) => number) => results.reduce((a, r) => a + f(r), 0);
  return {
    sync,
    mode,
    sessions,
    crashAt,
    acknowledgedBeforeCrash: sum((r) => r.receivedBeforeCrash),
    acknowledgedLost: sum((r) => r.ackedLost),
    sessionsWithLoss: results.filter((r) => r.ackedLost > 0).length,
    rewritesSeen: sum((r) => r.rewrites),
    done: results.filter((r) => r.outcome === 'done').length,
    textOk: results.filter((r) => r.textOk).length,
    unfinished: results.filter((r) => r.outcome === 'unfinished').length,
    silentMismatches: results.filter((r) => r.silentMismatch).length,
    results,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sessions: { type: 'string' }, rounds: { type: 'string' } } });
  const sessions = Number(values.sessions ?? 20);
  const rounds = Number(values.rounds ?? 1);
  const out = [];
  for (let r = 0; r < rounds; r++) {
    const plan = [
      ['default', 'kill'],
      ['always', 'kill'],
      ['default', 'rollback'],
    ] as const;
    for (const [sync, mode] of plan) {
      const res = await round(sync, sessions, mode);
      const { results: _, ...line } = res;
      process.stderr.write(`[cluster-crash] ${JSON.stringify(line)}\n`);
      out.push(res);
    }
  }
  const dir = resolve('bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  writeFileSync(resolve(dir, `${stamp}-cluster-crash.json`), JSON.stringify(out, null, 2));
  const md = [
    '| crash | sync | sessions | acknowledged before crash | acknowledged lost | sessions with loss | log_rewritten seen | done (text exact) | unfinished | silent mismatches |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...out.map(
      (r) =>
        `| ${r.mode} | ${r.sync} | ${r.sessions} | ${r.acknowledgedBeforeCrash} | ${r.acknowledgedLost} | ${r.sessionsWithLoss} | ${r.rewritesSeen} | ${r.done} (${r.textOk}) | ${r.unfinished} | ${r.silentMismatches} |`,
    ),
  ].join('\n');
  writeFileSync(resolve(dir, `${stamp}-cluster-crash.md`), `${md}\n`);
  process.stdout.write(`${md}\n`);
  process.exit(out.some((r) => r.silentMismatches > 0) ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`cluster-crash failed: ${String(err)}\n`);
  killAllServices();
  process.exit(1);
});
