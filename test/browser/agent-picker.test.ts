import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import type { AgentList } from '../../shared/protocol/index.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { FakeOpenAi } from '../openai/fake-openai-server.js';
import { launchChromium, type TestBrowser } from './chromium.js';

// The example pages' agent picker lists the agents with live workers, from GET /v1/agents.
let fabric: TestFabric;
let browser: TestBrowser;
let fake: FakeOpenAi;

beforeAll(async () => {
  fake = await FakeOpenAi.start();
  [fabric, browser] = await Promise.all([
    startFabric({ gateways: 1, workers: 1, env: { AGENT_HEARTBEAT_MS: '1000' } }),
    launchChromium(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await fabric?.stop();
  await fake?.stop();
});

/** The picker's options, after making the page refresh it (it refreshes when focused). */
async function pickerAgents(page: Page): Promise<string[]> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.focus('#agent');
  await page.waitForFunction(
    () => document.querySelector<HTMLSelectElement>('#agent')?.dataset.agents !== undefined,
  );
  return page.$$eval('#agent option', (els) => els.map((e) => (e as HTMLOptionElement).value));
}

async function liveOpenAiWorkers(): Promise<number> {
  const r = (await (await fetch(`${fabric.httpUrl(0)}/v1/agents`)).json()) as AgentList;
  return r.agents.find((a) => a.agent === 'openai')?.liveWorkers ?? 0;
}

describe('example pages - agent picker in Chromium', () => {
  it('lists the agents with live workers, follows a worker starting and dying, and starts on the chosen agent', async () => {
    const page = await browser.context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`${fabric.httpUrl(0)}/examples/basic.html`);
    await page.waitForFunction(
      () => document.querySelector<HTMLSelectElement>('#agent')?.dataset.agents === 'builtin',
    );
    expect(await pickerAgents(page)).toEqual(['builtin']);

    const worker = await fabric.addWorker({
      WORKER_AGENTS: 'openai',
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY: 'sk-test-fake',
      OPENAI_MODEL: 'fake-model-1',
    });
    await waitFor(async () => (await pickerAgents(page)).includes('openai'), {
      what: 'openai in the picker',
    });
    expect((await pickerAgents(page)).sort()).toEqual(['builtin', 'openai']);
    await browser.screenshot(page, 'basic-agent-picker');

    // The chosen agent runs the turn: the fake OpenAI server sees the prompt.
    await page.selectOption('#agent', 'openai');
    await page.fill('#prompt', 'picked from the page');
    await page.click('#send');
    await page.waitForFunction(() => document.body.dataset.finished === 'done', undefined, {
      timeout: 30_000,
    });
    expect(fake.requestsFor('picked from the page').length).toBe(1);

    // The advanced page's picker reads the same list.
    const advanced = await browser.context.newPage();
    await advanced.goto(`${fabric.httpUrl(0)}/examples/advanced.html`);
    await advanced.waitForFunction(
      () => document.querySelector<HTMLSelectElement>('#agent')?.dataset.agents === 'builtin,openai',
    );
    await advanced.close();

    // A worker killed outright leaves the list once its heartbeats stop.
    await worker.kill('SIGKILL');
    await waitFor(async () => (await liveOpenAiWorkers()) === 0, {
      timeoutMs: 15_000,
      what: 'heartbeat expiry',
    });
    // The page refreshes its list on focus: wait for the refresh that no longer has the worker.
    await waitFor(async () => (await pickerAgents(page)).join(',') === 'builtin', {
      timeoutMs: 15_000,
      what: 'the picker without the dead worker',
    });
    await page.close();
  });
});
