import type { DemoOutcome } from './demo-agents.js';

export interface FirstScreen {
  gatewayUrl: string;
  wsUrl: string;
  natsUrl: string;
  workers: number;
  demo: DemoOutcome;
  logFile: string;
}

/**
 * What `npm start` prints once everything runs: the few facts a newcomer needs next, in about
 * fifteen lines, with nothing printed after them (service logs go to the log file).
 */
export function renderFirstScreen(s: FirstScreen): string {
  const started = s.demo.started.map((d) => `${d.agent} (${d.what})`);
  const lines = [
    '',
    'StreamFabric is running.',
    `  Open         ${s.gatewayUrl}/examples/basic.html   (advanced: ${s.gatewayUrl}/examples/advanced.html)`,
    `  WebSocket    ${s.wsUrl}        OpenAI-compatible: ${s.gatewayUrl}/v1`,
    `  NATS         ${s.natsUrl}`,
    `  Agents       builtin (${s.workers} workers)${started.length ? `, ${started.join(', ')}` : ''}   list: ${s.gatewayUrl}/v1/agents`,
    ...s.demo.skipped.map((k) => `  Skipped      ${k.agent}: ${k.reason}`),
    '  Add an agent npm run agent -- my_module:build --agent my-agent',
    `               (or: NATS_URL=${s.natsUrl} .venv/bin/python -m streamfabric_autogen my_module:build --agent my-agent)`,
    '  Docs         docs/ (agents: docs/agent-pools.md)',
    `  Logs         ${s.logFile}`,
    'Press Ctrl-C to stop.',
    '',
  ];
  return lines.join('\n');
}
