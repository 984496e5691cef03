import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Share of samples spent idle (waiting in the event loop). */
  idlePct: number;
  /** Self time by function, busiest first. */
  topFunctions: { name: string; pct: number }[];
  /** Self time by where the code lives (a package, node internals, our own folders). */
  byArea: { area: string; pct: number }[];
}

function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const own = /dist\/(services\/[^/]+\/[^/]+|shared\/[^/]+|loadtest\/[^/]+)/.exec(url);
  return own ? own[1]! : 'other';
}

/** Self-time summary of one `.cpuprofile` written by `node --cpu-prof`. */
export function summariseProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const total = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  let idle = 0;
  for (const n of p.nodes) {
    const hits = n.hitCount ?? 0;
    if (!hits) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') idle += hits;
    const short = url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^file:\/\//, '');
    const name = `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
    byFn.set(name, (byFn.get(name) ?? 0) + hits);
    const area = areaOf(url, functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + hits);
  }
  const pct = (h: number) => Math.round((h / total) * 1000) / 10;
  const busy = (m: Map<string, number>) =>
    [...m.entries()]
      .filter(([k]) => k !== '(idle)' && !k.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top);
  return {
    file,
    totalMs: Math.round((p.endTime - p.startTime) / 1000),
    idlePct: pct(idle),
    topFunctions: busy(byFn).map(([name, h]) => ({ name, pct: pct(h) })),
    byArea: busy(byArea).map(([area, h]) => ({ area, pct: pct(h) })),
  };
}

/** Summaries of every profile in a folder. */
export function summariseProfiles(dir: string, top = 15): ProfileSummary[] {
  let files: string[] = [];
  try {
    files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return [];
  }
  return files.sort().map((f) => summariseProfile(join(dir, f), top));
}

/** Markdown lines for the summaries (percent of all samples, self time). */
export function profileMarkdown(summaries: ProfileSummary[]): string[] {
  const lines: string[] = [];
  for (const s of summaries) {
    lines.push(
      `### ${s.file.split('/').slice(-2).join('/')} (${s.totalMs} ms, idle ${s.idlePct} %)`,
      '',
      `By area: ${s.byArea.map((a) => `${a.area} ${a.pct} %`).join(', ')}`,
      '',
      ...s.topFunctions.map((f) => `- ${f.pct} % ${f.name}`),
      '',
    );
  }
  return lines;
}
