// @vitest-environment happy-dom
import { createElement, useEffect } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { waitFor } from '../../../scripts/topology/wait.js';
import { builtinText } from '../../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../../../test/harness/fabric.js';
import { StreamFabricClient } from '../client.js';
import { type UseStreamResult, useStream } from './use-stream.js';

// Updates come from a real WebSocket, not from test code: the test polls the DOM instead of using act().
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;

let fabric: TestFabric;
let client: StreamFabricClient;

beforeAll(async () => {
  fabric = await startFabric({ gateways: 1, workers: 1 });
  client = new StreamFabricClient({ url: fabric.wsUrl(0), WebSocket: WebSocket as never });
});
afterAll(async () => {
  client?.close();
  await fabric?.stop();
});

/** Shows the hook's state in the DOM and hands the hook to the test through `expose`. */
function Answer({ sid, expose }: { sid?: string; expose: (s: UseStreamResult) => void }) {
  const s = useStream(client, sid ? { sid } : {});
  useEffect(() => {
    expose(s);
  });
  return createElement('p', { 'data-status': s.status, 'data-seq': s.seq }, s.text);
}

async function mount(
  options: { sid?: string } = {},
): Promise<{ root: Root; el: HTMLElement; hook: () => UseStreamResult }> {
  const el = document.createElement('div');
  document.body.append(el);
  let latest: UseStreamResult | undefined;
  const root = createRoot(el);
  root.render(
    createElement(Answer, {
      ...options,
      expose: (s) => {
        latest = s;
      },
    }),
  );
  await waitFor(() => latest, { what: 'first render' });
  return { root, el, hook: () => latest! };
}

const statusOf = (el: HTMLElement) => el.querySelector('p')?.dataset.status;

describe('react useStream - renders a live stream', () => {
  it('start() streams into the DOM until done, with the exact text', async () => {
    const { root, el, hook } = await mount();
    expect(statusOf(el)).toBe('idle');
    await hook().start({ input: 'react', options: { seed: 21, length: 80, tokensPerSecond: 200 } });
    await waitFor(() => statusOf(el) === 'done', { timeoutMs: 30_000, what: 'done in the DOM' });
    expect(el.textContent).toBe(builtinText(21, 80));
    expect(hook().events.at(-1)?.type).toBe('done');
    expect(hook().session?.sid).toMatch(/^s_/);
    root.unmount();
  });

  it('{ sid } follows an existing session from its first event; cancel() stops it', async () => {
    const session = await client.start({
      input: 'x',
      options: { seed: 22, length: 5_000, tokensPerSecond: 100 },
    });
    await waitFor(() => session.lastSeq >= 5, { what: 'first events' });
    const { root, el, hook } = await mount({ sid: session.sid });
    await waitFor(() => (el.textContent ?? '').length > 20, { what: 'text in the DOM' });
    expect(builtinText(22, 5_000).startsWith(el.textContent ?? '')).toBe(true);
    hook().cancel();
    await waitFor(() => statusOf(el) === 'cancelled', { timeoutMs: 30_000, what: 'cancelled in the DOM' });
    root.unmount();
  });

  it('shows a refused session as status error with a typed error', async () => {
    const { root, el, hook } = await mount({ sid: 's_nosuchsession' });
    await waitFor(() => statusOf(el) === 'error', { what: 'error in the DOM' });
    expect(hook().error?.code).toBe('not_found');
    root.unmount();
  });
});
