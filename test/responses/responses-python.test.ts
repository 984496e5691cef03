import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/topology/service-process.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';

// The official OpenAI Python SDK (pinned in bridges/autogen/requirements.txt, installed in .venv/ by
// scripts/ensure-python.mjs) as a Responses API client of two gateways: responses_client.py.
let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({ gateways: 2, workers: 1 });
});
afterAll(async () => {
  await fabric?.stop();
});

describe('responses api - the official openai Python SDK as a client', () => {
  it('resumes a background stream on another gateway with starting_after, then continues the conversation', async () => {
    const python = join(repoRoot(), '.venv', 'bin', 'python');
    const script = join(repoRoot(), 'test', 'responses', 'responses_client.py');
    const { stdout } = await promisify(execFile)(python, [script, fabric.httpUrl(0), fabric.httpUrl(1)], {
      timeout: 60_000,
    });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      id: string;
      before: number[];
      starting_after: number;
      after: number[];
      last: string;
      text: string;
      follow_up: { previous: string; text: string };
    };
    expect(r.id).toMatch(/^resp_s_/);
    expect(r.starting_after).toBe(r.before.at(-1));
    expect(r.after[0]).toBeGreaterThan(r.starting_after);
    expect(r.last).toBe('response.completed');
    expect(r.text).toBe(builtinText(21, 80));
    expect(r.follow_up).toEqual({ previous: r.id, text: builtinText(22, 80) });
  });
});
