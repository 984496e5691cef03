import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ensureTool, NATS_SERVER } from '../../scripts/tools/ensure-tool.js';
import { ensurePython } from '../../scripts/topology/bridge-process.js';
import { repoRoot } from '../../scripts/topology/service-process.js';

/** The Python suites the bridge ships; fewer passing tests than this means tests went missing. */
const MIN_PYTEST_TESTS = 48;

describe('autogen bridge - pytest suite', () => {
  it('runs the bridge’s own pytest tests against a real nats-server and they all pass', () => {
    const python = ensurePython();
    const natsBin = ensureTool(NATS_SERVER);
    const r = spawnSync(python, ['-m', 'pytest', 'bridges/autogen/tests', '-q', '-p', 'no:cacheprovider'], {
      cwd: repoRoot(),
      env: { ...process.env, NATS_SERVER_BIN: natsBin },
      encoding: 'utf8',
      timeout: 300_000,
    });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    // Exit 5 is pytest's "no tests collected": tests are expected here, so it is a failure too.
    if (r.status !== 0)
      throw new Error(`pytest exited with ${r.status ?? r.signal}:\n${output.slice(-6000)}`);
    const passed = Number(/(\d+) passed/.exec(output)?.[1] ?? 0);
    expect(passed).toBeGreaterThanOrEqual(MIN_PYTEST_TESTS);
    expect(output).not.toMatch(/\d+ (failed|error)/);
  }, 330_000);
});
