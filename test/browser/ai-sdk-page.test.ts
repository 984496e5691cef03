import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BridgeProcess, ensurePython, spawnBridge } from '../../scripts/topology/bridge-process.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { autogenTeamSpeeches } from '../ai-sdk/ai-sdk-helpers.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { launchChromium, type TestBrowser } from './chromium.js';

// The example page client/examples/ai-sdk-chat.html: React + the real `ai` and `@ai-sdk/react`
// (useChat) + the StreamFabric transport, served by a gateway, in Debian's Chromium. Two
// gateways (one is killed mid-answer), one TypeScript worker and an AutoGen bridge (a team).
let fabric: TestFabric;
let browser: TestBrowser;
let bridge: BridgeProcess;

beforeAll(async () => {
  ensurePython();
  [fabric, browser] = await Promise.all([startFabric({ gateways: 2, workers: 1 }), launchChromium()]);
  bridge = await spawnBridge({
    builder: 'streamfabric_autogen.demo:team',
    agent: 'autogen-demo',
    env: { NATS_URL: fabric.nats.urls, STREAM_LOG_LEVEL: 'info' },
  });
}, 600_000);
afterAll(async () => {
  await bridge?.kill('SIGKILL');
  await browser?.close();
  await fabric?.stop();
});

/** The assistant messages' text parts as useChat holds them, with the agent of each. */
function assistantParts(page: Page): Promise<{ agent?: string; text: string }[][]> {
  return page.evaluate(() => {
    type Part = { type: string; text?: string; providerMetadata?: { streamfabric?: { agent?: string } } };
    const w = window as unknown as { aiChat: { messages(): { role: string; parts: Part[] }[] } };
    return w.aiChat
      .messages()
      .filter((m) => m.role === 'assistant')
      .map((m) =>
        m.parts
          .filter((p) => p.type === 'text')
          .map((p) => ({
            text: p.text ?? '',
            ...(p.providerMetadata?.streamfabric?.agent
              ? { agent: p.providerMetadata.streamfabric.agent }
              : {}),
          })),
      );
  });
}

async function openPage(query: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  // Served by gateway 1, which stays up for the whole file.
  await page.goto(`${fabric.httpUrl(1)}/examples/ai-sdk-chat.html?${query}`);
  await page.waitForSelector('#chat[data-status="ready"]');
  return page;
}

async function answerText(page: Page): Promise<string> {
  return (await assistantParts(page))
    .flat()
    .map((p) => p.text)
    .join('');
}

async function waitReadyWithAnswer(page: Page, timeout = 60_000): Promise<void> {
  await page.waitForFunction(
    () =>
      document.querySelector('#chat')?.getAttribute('data-status') === 'ready' &&
      document.querySelector('.msg.assistant') !== null,
    undefined,
    { timeout },
  );
}

async function waitForChars(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    (min) => (document.querySelector('.msg.assistant')?.textContent?.length ?? 0) >= min,
    n,
    { timeout: 30_000 },
  );
}

describe('ai-sdk useChat page - in Chromium', () => {
  it('streams a built-in answer, then a follow-up turn, into useChat messages', async () => {
    const page = await openPage('seed=7&length=80&tps=300&chat=builtin-1');
    await page.click('#send');
    await waitReadyWithAnswer(page);
    expect(await assistantParts(page)).toEqual([[{ text: builtinText(7, 80) }]]);
    await page.fill('#prompt', 'And again');
    await page.click('#send');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant').length === 2);
    await waitReadyWithAnswer(page);
    expect(await assistantParts(page)).toEqual([
      [{ text: builtinText(7, 80) }],
      [{ text: builtinText(8, 80) }],
    ]);
    await page.close();
  });

  it('streams an AutoGen team’s answer: one part per agent message, named, with the model’s exact text', async () => {
    const page = await openPage('agent=autogen-demo&length=20&tps=100&chat=team-1&prompt=plan%20a%20trip');
    await page.click('#send');
    await waitReadyWithAnswer(page);
    expect(await assistantParts(page)).toEqual([autogenTeamSpeeches('plan a trip', 20)]);
    const labels = await page.$$eval('.msg.assistant .agent', (els) => els.map((e) => e.textContent));
    expect(labels).toEqual(['writer', 'critic', 'writer', 'critic']);
    await browser.screenshot(page, 'ai-sdk-team');
    await page.close();
  });

  it('a page reload mid-answer: useChat resumes and shows the full text', async () => {
    const page = await openPage('seed=9&length=200&tps=40&chat=reload-1');
    await page.click('#send');
    await waitForChars(page, 60);
    const before = await answerText(page);
    expect(before.length).toBeLessThan(builtinText(9, 200).length);
    await page.reload();
    // After the reload useChat({ resume: true }) calls reconnectToStream: the turn is replayed.
    await page.waitForSelector('.msg.assistant', { timeout: 30_000 });
    await waitReadyWithAnswer(page);
    expect(await assistantParts(page)).toEqual([[{ text: builtinText(9, 200) }]]);
    await page.close();
  });

  it('an AutoGen team’s answer through a page reload mid-answer: every agent’s message whole, once', async () => {
    const page = await openPage(
      'agent=autogen-demo&length=24&tps=16&chat=team-reload&prompt=plan%20a%20trip',
    );
    await page.click('#send');
    // Reload while the team is still talking (the first agent's message has begun).
    await page.waitForSelector('.msg.assistant .agent', { timeout: 30_000 });
    expect(await page.$$eval('.msg.assistant .agent', (els) => els.length)).toBeLessThan(4);
    await page.reload();
    await page.waitForSelector('.msg.assistant', { timeout: 30_000 });
    await waitReadyWithAnswer(page);
    expect(await assistantParts(page)).toEqual([autogenTeamSpeeches('plan a trip', 24)]);
    await page.close();
  });

  it('a gateway killed mid-answer: the answer goes on through the other gateway, whole', async () => {
    const ws = fabric.gateways.map((g) => `ws://127.0.0.1:${g.port}/v1/ws`).join(',');
    // The client connects to gateway 0 first; the page itself is served by gateway 1.
    const page = await openPage(`seed=13&length=200&tps=40&chat=kill-1&gateways=${ws}`);
    await page.click('#send');
    await waitForChars(page, 60);
    await fabric.gateways[0]!.kill('SIGKILL');
    await page.waitForFunction(
      () =>
        Number(document.querySelector('#reconnects')?.textContent) >= 1 &&
        document.querySelector('#state')?.textContent === 'open',
      undefined,
      { timeout: 30_000 },
    );
    await browser.screenshot(page, 'ai-sdk-after-gateway-kill');
    // Two different gateways served this answer: the first one died mid-answer.
    const gateway = (await page.locator('#gateway').textContent()) ?? '';
    expect(await page.locator('#previous').textContent()).toMatch(/^ \(was g-\S+\)$/);
    expect(await page.locator('#previous').textContent()).not.toContain(gateway);
    await waitReadyWithAnswer(page);
    expect(await assistantParts(page)).toEqual([[{ text: builtinText(13, 200) }]]);
    await browser.screenshot(page, 'ai-sdk-after-gateway-kill-done');
    await page.close();
  });
});
