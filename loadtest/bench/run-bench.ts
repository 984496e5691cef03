import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ensureTool, NATS_SERVER } from '../../scripts/tools/ensure-tool.js';
import { killAllServices } from '../../scripts/topology/service-process.js';
import type { BenchOptions } from './bench-options.js';
import { type BenchResult, compare, markdown, plot } from './bench-report.js';
import { startBackend } from './bench-topology.js';
import { centrifugoRestartCheck } from './centrifugo-restart.js';
import { measureIdle, measureIdleCentrifugo } from './measure-idle.js';
import { profileMarkdown, summariseProfiles } from './profile-summary.js';
import { runTarget, type TargetResult, topologyOptions } from './run-target.js';

function machine(): Record<string, string | number> {
  let nats = 'unknown';
  try {
    nats = execFileSync(ensureTool(NATS_SERVER), ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported as unknown
  }
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memGB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    nats,
  };
}

/** Runs the benchmark and writes <out>/<date>-<name>.json, .md and .svg; returns the result. */
export async function runBench(o: BenchOptions): Promise<{ result: BenchResult; files: string[] }> {
  const started = performance.now();
  mkdirSync(o.outDir, { recursive: true });
  const date = new Date().toISOString().replace(/[:]/g, '-').replace(/\..*/, '');
  const targets: TargetResult[] = [];
  process.on('exit', () => killAllServices());
  const needsBackend = o.targets.some((t) => t === 'fabric' || t === 'socketio');
  let backend = needsBackend ? await startBackend(topologyOptions(o)) : null;
  try {
    for (const [i, t] of o.targets.entries()) {
      targets.push(await runTarget(t, o, backend));
      if (t !== 'fabric' || o.partitions.length === 1) continue;
      // The first backend idles while the others run: stop it unless something still needs it.
      const later = o.targets.slice(i + 1).includes('socketio') || o.idleSteps.some((n) => n > 0);
      if (!later && backend) {
        await backend.stop();
        backend = null;
      }
      // The fabric again at each further partition count, each on its own fresh backend (NATS,
      // workers) under the same load; stopped before anything else runs.
      for (const p of o.partitions.slice(1)) {
        const other = await startBackend(topologyOptions(o, p));
        try {
          targets.push(await runTarget(t, o, other, p));
        } finally {
          await other.stop();
        }
      }
    }
    // Last, so the thinking sessions it leaves in the workers disturb no other measurement.
    const fabric = targets.find((t) => t.target === 'fabric');
    if (backend && fabric && o.idleSteps.some((n) => n > 0)) fabric.idle = await measureIdle(backend, o);
    const centrifugo = targets.find((t) => t.target === 'centrifugo');
    if (centrifugo) {
      if (o.idleSteps.some((n) => n > 0)) centrifugo.idle = await measureIdleCentrifugo(o);
      centrifugo.survives = await centrifugoRestartCheck(o.verbose);
    }
  } finally {
    await backend?.stop();
  }
  const result: BenchResult = {
    name: o.name,
    date,
    machine: machine(),
    options: o,
    targets,
    comparison: compare(targets),
    wallS: Math.round((performance.now() - started) / 1000),
  };
  const base = join(o.outDir, `${date}-${o.name}`);
  const svgFile = `${date}-${o.name}.svg`;
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(o.outDir, svgFile), plot(result));
  let md = markdown(result, svgFile);
  if (o.profile) {
    // Gateways and workers ran with --cpu-prof: summarise their self time per function and area.
    const summaries = summariseProfiles(join(o.outDir, `profiles-${o.name}`));
    writeFileSync(`${base}-profiles.json`, `${JSON.stringify(summaries, null, 2)}\n`);
    md += `\n## CPU profiles (self time)\n\n${profileMarkdown(summaries).join('\n')}\n`;
  }
  writeFileSync(`${base}.md`, md);
  return { result, files: [`${base}.json`, `${base}.md`, join(o.outDir, svgFile)] };
}

/** The line the run ends with: the knee (most streams held at p99 < 200 ms). */
export function kneeLine(r: BenchResult): string {
  const c = r.comparison;
  const others = [
    c.socketioKnee !== null ? `socket.io ${c.socketioKnee}` : null,
    c.uwsKnee !== null ? `raw uWS ${c.uwsKnee}` : null,
    c.centrifugoKnee !== null ? `centrifugo ${c.centrifugoKnee}` : null,
  ].filter(Boolean);
  return `knee: ${c.fabricKnee} streams at p99 < 200 ms${others.length ? ` (${others.join(', ')})` : ''}`;
}
