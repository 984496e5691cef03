import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { killAllServices } from '../topology/service-process.js';
import { runSlowConsumers } from './slow-consumers.js';

/**
 * `npm run bench:slow-consumers -- [--stalled 100] [--sessions 8] [--mark 262144] [--control]`: measures what
 * stalled clients cost a gateway (bytes queued, RSS) and healthy latency meanwhile; writes
 * bench/results/slow-consumers-<date>.json.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      stalled: { type: 'string', default: '100' },
      sessions: { type: 'string', default: '8' },
      mark: { type: 'string', default: String(256 * 1024) },
      control: { type: 'boolean', default: false },
    },
  });
  const report = await runSlowConsumers({
    stalled: Number(values.stalled),
    bigSessions: Number(values.sessions),
    maxBackpressureBytes: Number(values.mark),
    healthySessions: 10,
    control: values.control,
    log: (line) => process.stderr.write(`[slow-consumers] ${line}\n`),
  });
  const dir = resolve('bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = resolve(
    dir,
    `slow-consumers${values.control ? '-control' : ''}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report));
  process.exit(report.allInOrder && (report.control || report.sendBufferBytes <= report.boundBytes) ? 0 : 1);
}

main().catch((err: unknown) => {
  killAllServices();
  process.stderr.write(`slow-consumers failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
