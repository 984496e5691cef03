import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { launchChromium, type TestBrowser } from './chromium.js';

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
  await page.goto(`${fabric.httpUrl(0)}/examples/basic.html?${query}`);
  await page.waitForFunction(() => document.querySelector('#state')?.textContent !== null);
  return page;
}

const answer = (page: Page) => page.locator('#answer').innerText();
const finished = (page: Page, type: string) =>
  page.waitForFunction((t) => document.body.dataset.finished === t, type, { timeout: 45_000 });
/** The seqs the page's session received, to prove no gap and no duplicate. */
const seqs = (page: Page) =>
  page.evaluate(() =>
    (
      window as unknown as { streamfabric: { session: { events: { seq: number }[] } } }
    ).streamfabric.session.events.map((e) => e.seq),
  );
const oneToN = (xs: number[]) => xs.map((_, i) => i + 1);

describe('basic page - in Chromium', () => {
  it('streams the answer; the final text equals the built-in model text for the seed', async () => {
    const page = await open('seed=42&length=60&tps=60');
    await page.click('#send');
    await page.waitForFunction(() => (document.querySelector('#answer')?.textContent ?? '').length > 40);
    await browser.screenshot(page, 'basic-streaming');
    await finished(page, 'done');
    expect(await answer(page)).toBe(builtinText(42, 60));
    expect(await page.locator('#status').innerText()).toContain('done · 60 tokens');
    await browser.screenshot(page, 'basic-done');
    await page.close();
  });

  it('stop cancels the turn: the page shows "stopped" and keeps a prefix of the answer', async () => {
    const page = await open('seed=8&length=3000&tps=40');
    await page.click('#send');
    await page.waitForFunction(() => (document.querySelector('#answer')?.textContent ?? '').length > 30);
    await page.click('#stop');
    await finished(page, 'cancelled');
    const text = await answer(page);
    expect(text.length).toBeGreaterThan(30);
    expect(builtinText(8, 3000).startsWith(text)).toBe(true);
    expect(await page.locator('#status').innerText()).toBe('stopped');
    await page.close();
  });

  it('drop connection mid-stream: the client reconnects and resumes with no gap and no duplicate', async () => {
    const page = await open('seed=77&length=240&tps=80');
    await page.click('#send');
    await page.waitForFunction(() => (document.querySelector('#answer')?.textContent ?? '').length > 60);
    await page.evaluate(() =>
      (
        window as unknown as { streamfabric: { client: { dropConnection(): void } } }
      ).streamfabric.client.dropConnection(),
    );
    await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'open', undefined, {
      timeout: 20_000,
    });
    await finished(page, 'done');
    expect(await answer(page)).toBe(builtinText(77, 240));
    const got = await seqs(page);
    expect(got).toEqual(oneToN(got));
    await page.close();
  });

  it('reload mid-stream: sessionStorage brings the session back and the log rebuilds the text exactly', async () => {
    const page = await open('seed=5&length=240&tps=60');
    await page.click('#send');
    await page.waitForFunction(() => (document.querySelector('#answer')?.textContent ?? '').length > 40);
    const sidBefore = await page.evaluate(
      () => (window as unknown as { streamfabric: { session: { sid: string } } }).streamfabric.session.sid,
    );
    const partial = await answer(page);
    await page.reload();
    await page.waitForFunction(() => (document.querySelector('#answer')?.textContent ?? '').length > 0);
    const sidAfter = await page.evaluate(
      () => (window as unknown as { streamfabric: { session: { sid: string } } }).streamfabric.session.sid,
    );
    expect(sidAfter).toBe(sidBefore);
    await finished(page, 'done');
    const text = await answer(page);
    expect(text.startsWith(partial)).toBe(true);
    expect(text).toBe(builtinText(5, 240));
    const got = await seqs(page);
    expect(got).toEqual(oneToN(got));
    await page.close();
  });
});
