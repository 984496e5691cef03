import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { launchChromium, type TestBrowser } from './chromium.js';

// The seed's browser flow: a page loads the Socket.IO client the gateway serves
// (/socket.io/socket.io.min.js, socket.io-client 4) and speaks the seed's events.
let fabric: TestFabric;
let browser: TestBrowser;

beforeAll(async () => {
  [fabric, browser] = await Promise.all([startFabric({ gateways: 1, workers: 1 }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await fabric?.stop();
});

async function open(query: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  await page.goto(`${fabric.httpUrl(0)}/examples/socket-io.html?${query}`);
  await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'connected');
  return page;
}
const answer = (page: Page) => page.locator('#answer').innerText();
const finished = (page: Page, how: string) =>
  page.waitForFunction((t) => document.body.dataset.finished === t, how, { timeout: 45_000 });

describe('socket.io page - the seed API in Chromium', () => {
  it('streams an answer, survives a reload by resuming from its position, and shows metrics', async () => {
    const page = await open('seed=42&length=80&tps=40');
    await page.click('#start');
    await page.waitForFunction(() => (document.querySelector('#answer')?.textContent ?? '').length > 30);
    await page.reload();
    await finished(page, 'done');
    // It resumed after a position > 0: the reloaded page did not start over.
    expect(Number(await page.evaluate(() => document.body.dataset.resumedAfter))).toBeGreaterThan(0);
    expect(await answer(page)).toBe(builtinText(42, 80));
    expect(await page.locator('#status').innerText()).toMatch(/^done · 80 tokens/);
    await page.click('#metrics');
    await page.waitForFunction(() =>
      (document.querySelector('#metricsOut')?.textContent ?? '').includes('tokens_sent'),
    );
    expect(JSON.parse(await page.locator('#metricsOut').innerText())).toMatchObject({ tokens_sent: 80 });
    await browser.screenshot(page, 'socket-io-done');
    await page.close();
  });

  it('stop_stream ends the answer early: "stopped", with a prefix of the text', async () => {
    const page = await open('seed=8&length=3000&tps=40');
    await page.click('#start');
    await page.waitForFunction(() => (document.querySelector('#answer')?.textContent ?? '').length > 30);
    await page.click('#stop');
    await finished(page, 'stopped');
    const text = await answer(page);
    expect(text.length).toBeGreaterThan(30);
    expect(builtinText(8, 3000).startsWith(text)).toBe(true);
    await page.close();
  });
});
