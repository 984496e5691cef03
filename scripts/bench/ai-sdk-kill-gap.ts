// How long the AI SDK transport's answer pauses when its gateway is killed mid-answer: from the
// SIGKILL to the next text-delta chunk (reconnect to the next gateway with full-jitter backoff,
// resume from the last seq). Also checks every answer is the model's exact text.
//   npm run -s build && node dist/scripts/bench/ai-sdk-kill-gap.js [runs]
import { WebSocket } from 'ws';
import { StreamFabricChatTransport } from '../../client/src/ai-sdk/index.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startNats } from '../topology/nats-process.js';
import { killAllServices, spawnService } from '../topology/service-process.js';

const runs = Number(process.argv[2] ?? 10);
const nats = await startNats({ nodes: 1 });
const env = { NATS_URL: nats.urls, NATS_REPLICAS: '1', AUTH_MODE: 'dev', STREAM_LOG_LEVEL: 'warn' };
const gw = (extra: Record<string, string> = {}) =>
  spawnService('gateway', { env: { ...env, WEBSOCKET_PORT: '0', STREAM_LOG_LEVEL: 'info', ...extra } });
const survivor = await gw();
await spawnService('worker', { env: { ...env, STREAM_LOG_LEVEL: 'info' } });
const gaps: number[] = [];
try {
  for (let k = 0; k < runs; k++) {
    const doomed = await gw();
    const transport = new StreamFabricChatTransport({
      url: [`ws://127.0.0.1:${doomed.port}/v1/ws`, `ws://127.0.0.1:${survivor.port}/v1/ws`],
      WebSocket: WebSocket as never,
      storage: false,
      options: { seed: k, length: 200, tokensPerSecond: 100 },
    });
    const stream = await transport.sendMessages({
      chatId: `gap-${k}`,
      messages: [{ id: 'u', role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
      abortSignal: undefined,
      trigger: 'submit-message',
      messageId: undefined,
    });
    let text = '';
    let deltas = 0;
    let killedAt = 0;
    let gap = -1;
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      if (r.value.type !== 'text-delta') continue;
      text += r.value.delta;
      if (killedAt && gap < 0) gap = performance.now() - killedAt;
      if (++deltas === 20) {
        killedAt = performance.now();
        void doomed.kill('SIGKILL');
      }
    }
    if (text !== builtinText(k, 200)) throw new Error(`run ${k}: the text differs from the model's`);
    gaps.push(Math.round(gap));
    transport.close();
  }
  const sorted = [...gaps].sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      runs,
      gapsMs: gaps,
      medianMs: sorted[Math.floor(runs / 2)],
      maxMs: sorted.at(-1),
      exactText: true,
    }),
  );
} finally {
  killAllServices();
  await nats.stop();
}
