import { describe, expect, it } from 'vitest';
import { centrifugoRestartCheck } from '../../loadtest/bench/centrifugo-restart.js';
import { CENTRIFUGO, ensureTool } from '../../scripts/tools/ensure-tool.js';

/**
 * The Centrifugo peer of the benchmark (issue 14): the tool is fetched like nats-server, and the
 * restart check runs against a real Centrifugo v6 node with the real `centrifuge` client. The
 * load itself is covered by the quick bench (test/bench/bench-quick.test.ts).
 */
describe('bench - Centrifugo peer', () => {
  it('ensureTool(CENTRIFUGO) says Go is missing and how to get Centrifugo instead', () => {
    const saved = {
      PATH: process.env.PATH,
      BIN: process.env.CENTRIFUGO_BIN,
      XDG: process.env.XDG_CACHE_HOME,
    };
    process.env.PATH = '/nonexistent';
    process.env.XDG_CACHE_HOME = '/nonexistent';
    delete process.env.CENTRIFUGO_BIN;
    try {
      expect(() => ensureTool(CENTRIFUGO)).toThrow(
        /cannot provide centrifugo v6\.9\.1 \(go is not on PATH\).*install Go.*CENTRIFUGO_BIN/s,
      );
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.BIN !== undefined) process.env.CENTRIFUGO_BIN = saved.BIN;
      if (saved.XDG === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved.XDG;
    }
  });

  it('a restart of the memory engine loses the history: the client cannot recover what it missed', async () => {
    // Builds Centrifugo v6.9.1 once per machine if it is not cached yet (go install).
    const bin = ensureTool(CENTRIFUGO);
    expect(bin).toMatch(/centrifugo/);
    const r = await centrifugoRestartCheck();
    // Before the restart the history held the whole session and the client had read half of it.
    expect(r.historyBefore).toBe(20);
    expect(r.before.offset).toBe(10);
    // After it: an empty stream under a new epoch, so none of the 10 missed events come back.
    expect(r.historyAfter).toBe(0);
    expect(r.afterRestart.epochChanged).toBe(true);
    expect(r.afterRestart.missed).toBe(10);
    expect(r.afterRestart.missedRecovered).toBe(0);
    expect(r.afterRestart.recovered).toBe(false);
    expect(r.verdict).toMatch(/history lost on restart/);
  }, 900_000);
});
