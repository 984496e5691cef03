import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startNats } from '../topology/nats-process.js';
import { killAllServices, spawnService } from '../topology/service-process.js';
import { runFuzz } from './fuzz-runner.js';
import { FUZZ_ORIGIN, fuzzGatewayEnv, fuzzTokens } from './fuzz-target.js';

/**
 * `npm run fuzz`: a long fuzz run against a real gateway (nats-server + gateway + worker as
 * processes). Settings: FUZZ_RUNS (WebSocket inputs, default 20000), FUZZ_HTTP_RUNS (default
 * FUZZ_RUNS/4), FUZZ_RAW_RUNS (default FUZZ_RUNS/20), FUZZ_SEED (default: random, printed).
 * Prints the inputs tried and the crashes, and writes bench/results/fuzz-<date>.json.
 */
async function main(): Promise<void> {
  const runs = Number(process.env.FUZZ_RUNS ?? 20_000);
  const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const log = (m: string) => process.stderr.write(`[fuzz] ${m}\n`);
  const secret = randomBytes(32).toString('base64url');
  log(`seed ${seed}; starting nats-server, a gateway and a worker...`);
  const nats = await startNats({});
  const maxFrameBytes = 256 * 1024;
  const env = { NATS_URL: nats.urls, STREAM_LOG_LEVEL: 'info' };
  try {
    // FUZZ_VERBOSE=1 echoes the gateway's log, to see what it made of an input.
    const gw = await spawnService('gateway', {
      env: { ...env, WEBSOCKET_PORT: '0', ...fuzzGatewayEnv(secret) },
      verbose: process.env.FUZZ_VERBOSE === '1',
    });
    await spawnService('worker', { env });
    const alive = () => gw.process.exitCode === null && gw.process.signalCode === null;
    const report = await runFuzz(
      {
        wsUrl: `ws://127.0.0.1:${gw.port}/v1/ws`,
        httpUrl: `http://127.0.0.1:${gw.port}`,
        port: gw.port,
        pid: gw.process.pid!,
        alive,
        ...(await fuzzTokens(secret)),
        allowedOrigin: FUZZ_ORIGIN,
        maxFrameBytes,
      },
      {
        wsRuns: runs,
        httpRuns: Number(process.env.FUZZ_HTTP_RUNS ?? Math.ceil(runs / 4)),
        rawRuns: Number(process.env.FUZZ_RAW_RUNS ?? Math.ceil(runs / 20)),
        seed,
        log,
      },
    );
    const date = new Date().toISOString().replace(/[:.]/g, '-');
    const dir = resolve('bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = resolve(dir, `fuzz-${date}.json`);
    writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), ...report }, null, 2)}\n`);
    log(
      `inputs tried: ${report.inputs.total} (ws ${report.inputs.ws}, raw ${report.inputs.raw}, http ${report.inputs.http})`,
    );
    log(
      `crashes = ${report.crashes}, failures = ${report.failures}, healthy sessions exact = ${report.healthy.completed} (problems ${report.healthy.problems.length})`,
    );
    log(
      `gateway RSS MB: before ${report.rssMb.before}, after ${report.rssMb.after}, peak ${report.rssMb.peak}`,
    );
    for (const f of report.failureSamples.slice(0, 10)) log(`failure: ${f.slice(0, 400)}`);
    log(`report: ${file}`);
    process.exitCode =
      report.crashes === 0 && report.failures === 0 && report.healthy.problems.length === 0 ? 0 : 1;
  } finally {
    killAllServices();
    await nats.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`fuzz failed: ${(err as Error).stack ?? String(err)}\n`);
  killAllServices();
  process.exit(1);
});
