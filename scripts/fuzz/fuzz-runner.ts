import fc from 'fast-check';
import { httpInput, wsInput } from './arbitraries.js';
import { HealthyTraffic } from './healthy-traffic.js';
import { runHttpInput } from './http-fuzz.js';
import { judgeWs, preview } from './oracle.js';
import { readRssBytes } from './process-memory.js';
import { randomRawProbe, rawCorpus, runRawProbe } from './raw-probes.js';
import { WsLane } from './ws-lane.js';

export interface FuzzTarget {
  wsUrl: string;
  httpUrl: string;
  port: number;
  /** The gateway process: crashes are detected by its exit, memory read from /proc. */
  pid: number;
  alive: () => boolean;
  /** A token whose user may only start an agent no worker serves (fuzzed starts never run a model). */
  fuzzToken: string;
  /** A token for the healthy sessions running alongside. */
  healthyToken: string;
  allowedOrigin: string;
  maxFrameBytes: number;
}

export interface FuzzOptions {
  wsRuns: number;
  httpRuns: number;
  rawRuns: number;
  seed: number;
  lanes?: number;
  healthyParallel?: number;
  log?: (line: string) => void;
}

export interface FuzzReport {
  seed: number;
  inputs: { ws: number; raw: number; http: number; total: number };
  crashes: number;
  failures: number;
  failureSamples: string[];
  outcomes: Record<string, number>;
  /** Gateway RSS: before, after, peak, and a sample every 500 WebSocket inputs (the trend shows a bound). */
  rssMb: { before: number; after: number; peak: number; samples: number[] };
  healthy: { completed: number; problems: string[] };
  durationMs: number;
}

/**
 * Fuzzes a running gateway with fast-check: hostile WebSocket frames over several connections,
 * protocol-level garbage on raw sockets, and hostile HTTP requests, while healthy sessions run
 * on the same gateway. Every input is judged (typed answer or standard close); the report
 * counts inputs, crashes (the gateway process exiting), failures and memory.
 */
export async function runFuzz(t: FuzzTarget, o: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const log = o.log ?? (() => undefined);
  const outcomes: Record<string, number> = {};
  const count = (k: string) => {
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  };
  const failures: string[] = [];
  let failureCount = 0;
  const fail = (what: string) => {
    failureCount++;
    if (failures.length < 50) failures.push(what);
  };
  const rssBefore = readRssBytes(t.pid);
  let peak = rssBefore;
  const samples: number[] = [];
  const sampleRss = () => {
    if (!t.alive()) return;
    const rss = readRssBytes(t.pid);
    peak = Math.max(peak, rss);
    samples.push(mb(rss));
  };
  const inputs = { ws: 0, raw: 0, http: 0, total: 0 };
  const bearer = (tok: string) => ['streamfabric.v1', `bearer.${tok}`];
  const healthy = new HealthyTraffic(t.wsUrl, bearer(t.healthyToken));
  healthy.start(o.healthyParallel ?? 3);
  let crashed = false;

  // Phase 1: WebSocket frames, `lanes` connections in parallel, each a fast-check property.
  const lanes = o.lanes ?? 4;
  const perLane = Math.ceil(o.wsRuns / lanes);
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      const ws = new WsLane(t.wsUrl, bearer(t.fuzzToken));
      await fc
        .assert(
          fc.asyncProperty(wsInput, async (input) => {
            if (!t.alive()) return false;
            inputs.ws++;
            const outcome = await ws.send(input);
            count(`ws.${outcome.kind}${outcome.kind === 'closed' ? `.${outcome.code}` : ''}`);
            const problem = judgeWs(input, outcome, t.maxFrameBytes);
            if (problem)
              fail(`ws: ${problem} <- ${preview(input, Number(process.env.SF_FUZZ_PREVIEW ?? 300))}`);
            if (inputs.ws % 500 === 0) {
              sampleRss();
              log(`ws inputs ${inputs.ws}/${o.wsRuns}`);
            }
            return t.alive();
          }),
          { numRuns: perLane, seed: o.seed + lane, endOnFailure: true },
        )
        .catch((err: unknown) => {
          // fast-check stops a lane when the property fails: the gateway died on this input
          // (the counterexample is in the message), or the fuzzer itself broke.
          if (!t.alive()) crashed = true;
          fail(`${t.alive() ? 'fuzzer error' : 'gateway died'}: ${String(err).slice(0, 800)}`);
        });
      ws.close();
    }),
  );
  sampleRss();

  // Phase 2: protocol-level garbage on raw sockets (the corpus, then random bytes).
  const headers = { 'Sec-WebSocket-Protocol': `streamfabric.v1, bearer.${t.fuzzToken}` };
  const corpus = rawCorpus(t.maxFrameBytes);
  const randoms = fc.sample(randomRawProbe, {
    numRuns: Math.max(0, o.rawRuns - corpus.length),
    seed: o.seed,
  });
  const probes = [...corpus.map((p) => ({ p, wait: 3_000 })), ...randoms.map((p) => ({ p, wait: 500 }))];
  for (let i = 0; i < probes.length && t.alive(); i += 8) {
    await Promise.all(
      probes.slice(i, i + 8).map(async ({ p, wait }) => {
        inputs.raw++;
        const r = await runRawProbe(t.port, p, headers, wait).catch((err: unknown) => ({
          outcome: 'dropped' as const,
          problem: t.alive() ? null : `raw probe error: ${String(err)}`,
        }));
        count(`raw.${r.outcome}`);
        if (r.problem) fail(`raw "${p.name}": ${r.problem}`);
      }),
    );
  }
  sampleRss();
  log(`raw probes ${inputs.raw}`);

  // Phase 3: HTTP requests, 4 at a time.
  const ctx = { baseUrl: t.httpUrl, allowedOrigin: t.allowedOrigin, validToken: t.fuzzToken };
  const requests = fc.sample(httpInput(t.fuzzToken), { numRuns: o.httpRuns, seed: o.seed });
  for (let i = 0; i < requests.length && t.alive(); i += 4) {
    await Promise.all(
      requests.slice(i, i + 4).map(async (req) => {
        inputs.http++;
        const r = await runHttpInput(ctx, req);
        count(r.outcome.kind === 'response' ? `http.${r.outcome.status}` : 'http.dropped');
        if (r.problem) fail(`http: ${r.problem}`);
      }),
    );
  }
  log(`http requests ${inputs.http}`);

  await healthy.stop();
  if (!t.alive()) crashed = true;
  inputs.total = inputs.ws + inputs.raw + inputs.http;
  const rssAfter = t.alive() ? readRssBytes(t.pid) : 0;
  peak = Math.max(peak, rssAfter);
  return {
    seed: o.seed,
    inputs,
    crashes: crashed ? 1 : 0,
    failures: failureCount,
    failureSamples: failures,
    outcomes,
    rssMb: { before: mb(rssBefore), after: mb(rssAfter), peak: mb(peak), samples },
    healthy: { completed: healthy.completed, problems: healthy.problems },
    durationMs: Date.now() - started,
  };
}

function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
