import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinAnswerText, builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { launchChromium, type TestBrowser } from './chromium.js';

let fabric: TestFabric;
let browser: TestBrowser;

beforeAll(async () => {
  [fabric, browser] = await Promise.all([
    startFabric({ gateways: 1, workers: 2 }),
    launchChromium({ width: 1320, height: 900 }),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await fabric?.stop();
});

describe('advanced page - in Chromium', () => {
  it('streams 4 sessions at once, survives a dropped connection with no gap, and shows per-stream metrics', async () => {
    const page = await browser.context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(
      `${fabric.httpUrl(0)}/examples/advanced.html?seed=100&count=4&length=150&tps=40&autostart=1`,
    );
    await page.waitForFunction(() => document.querySelectorAll('.card').length === 4);
    await page.waitForFunction(() =>
      [...document.querySelectorAll('.card [data-m="seq"]')].every((el) => Number(el.textContent) >= 25),
    );
    await page.click('#drop');
    await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'open', undefined, {
      timeout: 20_000,
    });
    await page.waitForFunction(() => Number(document.querySelector('#reconnects')?.textContent) >= 1);
    await browser.screenshot(page, 'advanced-after-drop');
    await page.waitForFunction(
      () => document.querySelectorAll('.card[data-finished="done"]').length === 4,
      undefined,
      {
        timeout: 60_000,
      },
    );
    await browser.screenshot(page, 'advanced-done');
    const cards = await page.$$eval('.card', (els) =>
      els.map((el) => ({
        text: (el as HTMLElement).dataset.text,
        check: el.querySelector('[data-m="check"]')?.textContent,
        p50: el.querySelector('[data-m="p50"]')?.textContent ?? '',
        tps: el.querySelector('[data-m="tps"]')?.textContent ?? '',
      })),
    );
    cards.forEach((c, i) => {
      expect(c.text).toBe(builtinText(100 + i, 150));
      expect(c.check).toBe('0 · 0');
      expect(c.p50).toMatch(/^\d+ ms$/);
      expect(Number(c.tps)).toBeGreaterThan(0);
    });
    expect(await page.locator('#log').innerText()).toMatch(/resumed \d stream\(s\)/);
    expect(await page.locator('#gateway').innerText()).toMatch(/^g-/);
    await page.close();
  });
});

describe('advanced page - conversation in Chromium', () => {
  it('shows a two-agent conversation that asks the user, takes the answer in the page and a follow-up turn', async () => {
    const page = await browser.context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`${fabric.httpUrl(0)}/examples/advanced.html?seed=7&length=40&tps=80`);
    await page.click('#convoStart');
    // The agents ask first: the question appears with its choices, and the page answers it.
    await page.waitForSelector('.bubble.question button[data-answer="engineers"]', { timeout: 20_000 });
    await browser.screenshot(page, 'advanced-conversation-question');
    await page.click('.bubble.question button[data-answer="engineers"]');
    await page.waitForFunction(
      () => document.querySelector('#convo')?.getAttribute('data-state') === 'idle',
      undefined,
      { timeout: 30_000 },
    );
    const agents = await page.$$eval('#transcript .bubble.bot .agent', (els) =>
      els.map((e) => e.textContent),
    );
    expect(agents).toEqual(['researcher', 'writer']);
    const expected = builtinAnswerText('engineers', 107, 40);
    const said = await page.evaluate(
      () =>
        (
          window as unknown as { streamfabric: { conversation(): { turns: { assistant: string }[] } } }
        ).streamfabric.conversation().turns[0]!.assistant,
    );
    expect(said).toBe(expected);

    // A follow-up turn from the page; the agents ask again and the page answers again.
    await page.fill('#followText', 'Make it shorter');
    await page.click('#followSend');
    await page.waitForSelector('.bubble.question:not(.answered) button[data-answer="executives"]', {
      timeout: 20_000,
    });
    await page.click('.bubble.question:not(.answered) button[data-answer="executives"]');
    await page.waitForFunction(
      () =>
        document.querySelector('#convo')?.getAttribute('data-turns') === '2' &&
        document.querySelector('#convo')?.getAttribute('data-state') === 'idle',
      undefined,
      { timeout: 30_000 },
    );
    await browser.screenshot(page, 'advanced-conversation-done');
    const users = await page.$$eval('#transcript .bubble.user', (els) => els.map((e) => e.textContent));
    expect(users).toEqual(['youExplain how a durable stream survives a failure', 'youMake it shorter']);
    await page.close();
  });
});
