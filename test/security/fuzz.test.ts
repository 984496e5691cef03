import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFuzz } from '../../scripts/fuzz/fuzz-runner.js';
import { FUZZ_ORIGIN, fuzzGatewayEnv, fuzzTokens } from '../../scripts/fuzz/fuzz-target.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { TEST_SECRET } from '../harness/tokens.js';

let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({ gateways: 1, workers: 1, gatewayEnv: fuzzGatewayEnv(TEST_SECRET) });
});
afterAll(async () => {
  await fabric?.stop();
});

describe('fuzz - hostile input against a real gateway (short run; `npm run fuzz` runs longer)', () => {
  it('never crashes, answers every input with a typed error or a standard close, keeps memory bounded and healthy sessions exact', async () => {
    const gw = fabric.gateways[0]!;
    // A fixed seed keeps CI reproducible; SF_FUZZ_SEED explores others (`npm run fuzz` picks a random one).
    const seed = Number(process.env.SF_FUZZ_SEED ?? 20_261_127);
    const report = await runFuzz(
      {
        wsUrl: fabric.wsUrl(0),
        httpUrl: fabric.httpUrl(0),
        port: gw.port,
        pid: gw.process.pid!,
        alive: () => gw.process.exitCode === null && gw.process.signalCode === null,
        ...(await fuzzTokens(TEST_SECRET)),
        allowedOrigin: FUZZ_ORIGIN,
        maxFrameBytes: 256 * 1024,
      },
      { wsRuns: 3000, rawRuns: 150, httpRuns: 800, seed },
    );
    process.stderr.write(`fuzz (seed ${seed}): ${JSON.stringify(report)}\n`);
    expect(report.crashes).toBe(0);
    expect(report.failureSamples).toEqual([]);
    expect(report.inputs.total).toBeGreaterThanOrEqual(3900);
    expect(report.healthy.problems).toEqual([]);
    expect(report.healthy.completed).toBeGreaterThan(0);
    expect(report.rssMb.after - report.rssMb.before).toBeLessThan(150);
  });
});
