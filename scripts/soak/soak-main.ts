import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runSoak } from './run-soak.js';

/**
 * `npm run soak -- --minutes 60 [--users 20] [--gateways 2]`: steady streams with churn
 * (connects, dropped sockets and resumes, follow-up turns, disconnects) against a real fabric;
 * prints and writes (bench/results/<date>-soak.{json,md}) the RSS and fd slope of every process
 * and the lost/duplicated/reordered counts. Exits non-zero if anything was lost, duplicated or
 * reordered, or a process died.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { minutes: { type: 'string' }, users: { type: 'string' }, gateways: { type: 'string' } },
  });
  const minutes = Number(values.minutes ?? 60);
  const r = await runSoak({
    minutes,
    users: Number(values.users ?? 20),
    gateways: Number(values.gateways ?? 2),
    sampleEveryMs: Math.max(2_000, Math.min(30_000, minutes * 1_000)),
    log: (l) => process.stderr.write(`[soak] ${l}\n`),
  });
  const md = [
    `Soak ${r.minutes} min, ${r.users} users: ${JSON.stringify(r.totals)}; processes alive: ${r.alive}`,
    '',
    '| process | samples | RSS start (KB) | RSS end (KB) | RSS slope (KB/min) | fds start | fds end | fd slope (/min) |',
    '|---|---|---|---|---|---|---|---|',
    ...r.processes.map(
      (p) =>
        `| ${p.name} | ${p.samples} | ${p.rssKbStart} | ${p.rssKbEnd} | ${p.rssKbPerMin} | ${p.fdsStart} | ${p.fdsEnd} | ${p.fdsPerMin} |`,
    ),
  ].join('\n');
  const dir = resolve('bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  writeFileSync(resolve(dir, `${stamp}-soak.json`), JSON.stringify(r, null, 2));
  writeFileSync(resolve(dir, `${stamp}-soak.md`), `${md}\n`);
  process.stdout.write(`${md}\n`);
  const t = r.totals;
  const bad = t.lost + t.duplicated + t.reordered + t.textMismatches + t.unfinished > 0 || !r.alive;
  process.exit(bad ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`soak failed: ${String(err)}\n`);
  process.exit(1);
});
