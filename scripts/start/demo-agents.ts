import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { type BridgeProcess, spawnBridge, venvPython } from '../topology/bridge-process.js';
import { repoRoot } from '../topology/service-process.js';

/** The AutoGen demo agents `npm start` runs when Python >= 3.10 is present (docs/agent-pools.md). */
export const DEMO_AGENTS = [
  { agent: 'autogen-demo', builder: 'streamfabric_autogen.demo:team', what: 'AgentChat team' },
  { agent: 'ag2-pair', builder: 'streamfabric_autogen.demos.ag2_pair:build', what: 'AG2 classic pair' },
  {
    agent: 'agent-framework',
    builder: 'streamfabric_autogen.demos.agent_framework_agent:build',
    what: 'Agent Framework agent',
  },
] as const;

export interface DemoOutcome {
  started: { agent: string; what: string; bridge: BridgeProcess }[];
  /** Agent (or "AutoGen demo agents") and why it did not start. */
  skipped: { agent: string; reason: string }[];
}

/** The last meaningful line of a tool's error output (never a whole traceback on the first screen). */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.replace(/^\[streamfabric\]\s*/, '').trim());
  return lines.filter(Boolean).at(-1)?.slice(0, 160) ?? 'no output';
}

/** Sets up .venv (scripts/ensure-python.mjs); null when ready, else why not. */
function ensureVenv(log: Writable): string | null {
  const r = spawnSync(process.execPath, [join(repoRoot(), 'scripts', 'ensure-python.mjs')], {
    encoding: 'utf8',
  });
  log.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.status === 0) return null;
  const why = (r.stderr ?? '').split('\n').find((l) => /cannot set up|needs >= 3\.10|is Python/.test(l));
  return lastLine(why ?? r.stderr ?? '').replace(
    /^cannot set up the Python environment.*?\(\.venv\/\):\s*/,
    '',
  );
}

/** Which builders import, in one Python process (AutoGen imports are slow). */
function importable(log: Writable): Map<string, string | null> {
  const code = [
    'import importlib, json, sys',
    'out = {}',
    'for spec in sys.argv[1:]:',
    '    mod, _, attr = spec.partition(":")',
    '    try:',
    '        getattr(importlib.import_module(mod), attr)',
    '        out[spec] = None',
    '    except BaseException as e:',
    '        out[spec] = f"{type(e).__name__}: {e}"',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(venvPython(), ['-c', code, ...DEMO_AGENTS.map((d) => d.builder)], {
    cwd: repoRoot(),
    encoding: 'utf8',
  });
  log.write(r.stderr ?? '');
  const result = new Map<string, string | null>();
  let parsed: Record<string, string | null> = {};
  try {
    parsed = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, string | null>;
  } catch {
    // Reported per builder below.
  }
  for (const d of DEMO_AGENTS)
    result.set(d.builder, d.builder in parsed ? (parsed[d.builder] ?? null) : lastLine(r.stderr ?? ''));
  return result;
}

/**
 * Starts every demo agent whose builder imports, each a bridge process whose model is the
 * gateway's own OpenAI-compatible endpoint with the built-in model (no API key, no internet).
 */
export async function startDemoAgents(o: {
  natsUrl: string;
  gatewayUrl: string;
  log: Writable;
}): Promise<DemoOutcome> {
  const out: DemoOutcome = { started: [], skipped: [] };
  if (process.env.SF_START_PYTHON === '0') {
    out.skipped.push({ agent: 'AutoGen demo agents', reason: 'SF_START_PYTHON=0' });
    return out;
  }
  const venvProblem = ensureVenv(o.log);
  if (venvProblem) {
    out.skipped.push({
      agent: 'AutoGen demo agents',
      reason: `needs Python >= 3.10 in .venv/: ${venvProblem}`,
    });
    return out;
  }
  const imports = importable(o.log);
  const env = {
    NATS_URL: o.natsUrl,
    STREAM_LOG_LEVEL: 'info',
    STREAMFABRIC_DEMO_OPENAI_BASE_URL: process.env.STREAMFABRIC_DEMO_OPENAI_BASE_URL ?? `${o.gatewayUrl}/v1`,
    STREAMFABRIC_DEMO_OPENAI_MODEL: process.env.STREAMFABRIC_DEMO_OPENAI_MODEL ?? 'builtin',
    STREAMFABRIC_DEMO_OPENAI_API_KEY: process.env.STREAMFABRIC_DEMO_OPENAI_API_KEY ?? 'none',
  };
  await Promise.all(
    DEMO_AGENTS.map(async (d) => {
      const importError = imports.get(d.builder);
      if (importError) {
        out.skipped.push({
          agent: d.agent,
          reason: `${d.builder} does not import (${importError.slice(0, 120)})`,
        });
        return;
      }
      try {
        const bridge = await spawnBridge({
          builder: d.builder,
          agent: d.agent,
          env,
          logSink: o.log,
          timeoutMs: 120_000,
        });
        out.started.push({ agent: d.agent, what: d.what, bridge });
      } catch (err) {
        out.skipped.push({ agent: d.agent, reason: `failed to start: ${lastLine((err as Error).message)}` });
      }
    }),
  );
  const order = (a: string) => DEMO_AGENTS.findIndex((d) => d.agent === a);
  out.started.sort((a, b) => order(a.agent) - order(b.agent));
  return out;
}
