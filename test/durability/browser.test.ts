import { mkdirSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinText, seedFromInput } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';

// Real Chromium (never downloaded: the system's), the real example page, two real gateways.
const PROMPT = 'Tell me about durable streams'; // the page's default prompt
const LENGTH = 120;
let fabric: TestFabric;
let browser: Browser;

beforeAll(async () => {
  fabric = await startFabric({
    gateways: 2,
    workers: 1,
    // Slow enough that the answer is still streaming when its gateway dies.
    workerEnv: { BUILTIN_TOKENS_PER_SECOND: '20', BUILTIN_LENGTH: String(LENGTH) },
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
afterAll(async () => {
  await browser?.close();
  await fabric?.stop();
});

describe('browser - example page fails over', () => {
  it('the page keeps streaming through the death of its gateway and shows the model full answer', async () => {
    const page = await browser.newPage();
    const gateways = [fabric.wsUrl(0), fabric.wsUrl(1)].join(',');
    await page.goto(`${fabric.httpUrl(0)}/examples/basic.html?gateways=${encodeURIComponent(gateways)}`);
    await page.click('#send');
    await page.waitForFunction(
      () => (document.getElementById('answer')?.textContent ?? '').length > 30,
      null,
      {
        timeout: 30_000,
      },
    );
    // Kill the gateway the page is connected to (the one named in its welcome).
    const connectedTo = await page.evaluate(
      () =>
        (window as unknown as { streamfabric: { client: { gateway: string } } }).streamfabric.client.gateway,
    );
    const victim = fabric.gateways.find((g) => g.logs.some((l) => l.gateway === connectedTo))!;
    expect(victim).toBeDefined();
    await victim.kill('SIGKILL');

    await page.waitForFunction(() => document.body.dataset.finished === 'done', null, { timeout: 60_000 });
    const text = await page.textContent('#answer');
    expect(text).toBe(builtinText(seedFromInput(PROMPT), LENGTH));
    const nowOn = await page.evaluate(
      () =>
        (window as unknown as { streamfabric: { client: { gateway: string } } }).streamfabric.client.gateway,
    );
    expect(nowOn).not.toBe(connectedTo);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/browser-failover.png', fullPage: true });
    await page.close();
  });
});
