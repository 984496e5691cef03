import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { loadConfig } from '../shared/config/load-config.js';
import { WorkerConfig } from '../shared/config/worker-config.js';
import { JetStreamEventLog } from '../shared/nats/event-log.js';
import { provisionFabric } from '../shared/nats/provision.js';
import { SessionRegistry } from '../shared/nats/session-registry.js';
import { jobMsgId, subjects } from '../shared/nats/subjects.js';
import { isTerminal, type Job } from '../shared/protocol/index.js';
import { spawnBridge, venvPython } from './topology/bridge-process.js';
import { startNats } from './topology/nats-process.js';
import { repoRoot } from './topology/service-process.js';
import { waitFor } from './topology/wait.js';

/**
 * `npm run bench:bridge`: how many model tokens per second ONE AutoGen bridge process sustains,
 * and what it costs per token. A real nats-server, one bridge serving
 * `streamfabric_autogen.demo:assistant` (AutoGen's ReplayChatCompletionClient streaming as fast
 * as it can), N concurrent sessions of W words each, queued at once. Run twice: with the default
 * coalescing (STREAM_BUFFER_SIZE / STREAM_FLUSH_INTERVAL) and with one event per token (the
 * worst case for the writer). The same AutoGen workload without the bridge is the baseline.
 * Then the other adapters, each on its framework's own OpenAI client streaming real HTTP/SSE from
 * a local OpenAI-compatible server (bridges/autogen/tests/fake_openai.py, its own process, so its
 * CPU is not counted): AG2 classic (`streamfabric_autogen.demos.ag2_pair:build`) and Microsoft
 * Agent Framework (`streamfabric_autogen.demos.agent_framework_agent:build`). Their figure is the
 * whole bridge process: the framework's HTTP client and SSE parsing included.
 * `--adapters agentchat,ag2,agent-framework` picks which run.
 * Results: bench/results/bridge-<date>.json.
 */
const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '8' },
    words: { type: 'string', default: '2500' },
    adapters: { type: 'string', default: 'agentchat,ag2,agent-framework' },
  },
});
const ADAPTERS = new Set(values.adapters.split(','));
const SESSIONS = Number(values.sessions);
const WORDS = Number(values.words);
const AGENT = 'bench-bridge';

/** CPU time (user + system) of a process so far, in ms (Linux /proc). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

interface Scenario {
  name: string;
  adapter: string;
  builder: string;
  env: Record<string, string>;
}

/** The local OpenAI-compatible server the AG2 and Agent Framework runs stream from. */
async function startFakeModel(words: number): Promise<{ baseUrl: string; child: ChildProcess }> {
  const child = spawn(
    venvPython(),
    [join(repoRoot(), 'bridges/autogen/tests/fake_openai.py'), String(words)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const baseUrl = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`fake model server exited with ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim().split('\n')[0]!));
  });
  return { baseUrl, child };
}

async function runScenario(natsUrl: string, s: Scenario) {
  const bridge = await spawnBridge({
    builder: s.builder,
    agent: AGENT,
    env: { NATS_URL: natsUrl, STREAM_LOG_LEVEL: 'info', ...s.env },
    timeoutMs: 120_000,
  });
  const nc = await connect({ servers: natsUrl });
  const js = jetstream(nc);
  const log = await JetStreamEventLog.create(nc);
  const registry = await SessionRegistry.open(nc);
  const run = Date.now().toString(36);
  const sids = Array.from({ length: SESSIONS }, (_, i) => `s_bench_${run}_${i}`);
  const pid = bridge.process.pid!;
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  for (const sid of sids) {
    const now = Date.now();
    await registry.create({
      sid,
      tenant: 'bench',
      user: 'bench',
      agent: AGENT,
      state: 'queued',
      createdAt: now,
      updatedAt: now,
      turns: 1,
      cancelRequested: false,
    });
    const job: Job = {
      v: 1,
      sid,
      tenant: 'bench',
      user: 'bench',
      agent: AGENT,
      input: `bench ${sid}`,
      options: { length: WORDS },
      turn: 1,
      createdAt: now,
    };
    await js.publish(subjects.job(AGENT), JSON.stringify(job), { msgID: jobMsgId(sid, 1) });
  }
  const finals = await waitFor(
    async () => {
      const last = await Promise.all(sids.map((sid) => log.last('bench', sid)));
      return last.every((l) => l && isTerminal(l.event)) ? last.map((l) => l!.event) : null;
    },
    { timeoutMs: 600_000, intervalMs: 100, what: 'every bench session to finish' },
  );
  const wallMs = performance.now() - t0;
  const bridgeCpuMs = cpuMs(pid) - cpu0;
  const tokens = finals.reduce((n, e) => n + (e.type === 'done' ? e.tokens : 0), 0);
  const events = finals.reduce((n, e) => n + e.seq, 0);
  if (finals.some((e) => e.type !== 'done'))
    throw new Error(`a bench session failed: ${JSON.stringify(finals)}`);
  await nc.close();
  await bridge.kill('SIGTERM');
  return {
    name: s.name,
    adapter: s.adapter,
    builder: s.builder,
    env: s.env,
    sessions: SESSIONS,
    wordsPerSession: WORDS,
    tokens,
    events,
    wallMs: Math.round(wallMs),
    tokensPerSecond: Math.round((tokens * 1000) / wallMs),
    eventsPerSecond: Math.round((events * 1000) / wallMs),
    bridgeCpuMs: Math.round(bridgeCpuMs),
    bridgeCpuUsPerToken: Number(((bridgeCpuMs * 1000) / tokens).toFixed(1)),
    bridgeCpuUsPerEvent: Number(((bridgeCpuMs * 1000) / events).toFixed(1)),
  };
}

const nats = await startNats();
try {
  const nc = await connect({ servers: nats.urls });
  await provisionFabric(nc, loadConfig(WorkerConfig, { NATS_URL: nats.urls }));
  await nc.close();
  const baselineOut = execFileSync(
    venvPython(),
    [join(repoRoot(), 'bridges/autogen/bench/baseline.py'), String(SESSIONS), String(WORDS)],
    { cwd: repoRoot(), encoding: 'utf8' },
  );
  const baseline = JSON.parse(baselineOut) as { chunks: number; wallMs: number; cpuMs: number };
  const scenarios = [];
  const model = await startFakeModel(WORDS);
  const modelEnv = {
    STREAMFABRIC_DEMO_OPENAI_BASE_URL: model.baseUrl,
    STREAMFABRIC_DEMO_OPENAI_MODEL: 'bench',
  };
  const agentchat = 'streamfabric_autogen.demo:assistant';
  const all: Scenario[] = [
    { name: 'agentchat, default coalescing', adapter: 'agentchat', builder: agentchat, env: {} },
    {
      name: 'agentchat, one event per token',
      adapter: 'agentchat',
      builder: agentchat,
      env: { STREAM_BUFFER_SIZE: '1', STREAM_FLUSH_INTERVAL: '0' },
    },
    {
      name: 'ag2, default coalescing',
      adapter: 'ag2',
      builder: 'streamfabric_autogen.demos.ag2_pair:build',
      env: modelEnv,
    },
    {
      name: 'agent-framework, default coalescing',
      adapter: 'agent-framework',
      builder: 'streamfabric_autogen.demos.agent_framework_agent:build',
      env: modelEnv,
    },
  ];
  const plan = all.filter((s) => ADAPTERS.has(s.adapter));
  for (const s of plan) {
    const r = await runScenario(nats.urls, s);
    scenarios.push(r);
    process.stdout.write(
      `${r.name}: ${r.tokensPerSecond} tokens/s, ${r.eventsPerSecond} events/s, bridge CPU ${r.bridgeCpuUsPerToken} µs/token (${r.bridgeCpuUsPerEvent} µs/event)\n`,
    );
  }
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg: loadavg() },
    python: execFileSync(venvPython(), ['--version'], { encoding: 'utf8' }).trim(),
    baseline: {
      what: 'the same AgentChat runs with no bridge (run_stream consumed and discarded)',
      ...baseline,
      cpuUsPerToken: Number(((baseline.cpuMs * 1000) / baseline.chunks).toFixed(1)),
    },
    scenarios,
  };
  process.stdout.write(
    `baseline (AutoGen alone): ${result.baseline.cpuUsPerToken} µs CPU/token; sessions=${SESSIONS} words=${WORDS}\n`,
  );
  const dir = join(repoRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bridge-${result.date.slice(0, 10)}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
  model.child.kill('SIGKILL');
} finally {
  await nats.stop();
}
