// The AI SDK's useChat over StreamFabric: a chat page that survives gateway deaths and reloads.
// In an app, import from '@streamfabric/client/ai-sdk'; this example imports the repo's source.
import { useChat } from '@ai-sdk/react';
import type { UIMessage } from 'ai';
import { useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { StreamFabricChatTransport } from '../src/ai-sdk/index.js';

// Optional query: ?agent=autogen-demo&seed=42&length=80&tps=40&chat=my-chat&gateways=ws://a/v1/ws,ws://b/v1/ws
const q = new URLSearchParams(location.search);
const num = (k: string) => (q.has(k) ? Number(q.get(k)) : undefined);
const options = Object.fromEntries(
  Object.entries({ seed: num('seed'), length: num('length'), tokensPerSecond: num('tps') }).filter(
    ([, v]) => v !== undefined,
  ),
);
const sameOrigin = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;
// The chat id is kept in the URL so a reload resumes the same chat.
const chatId = q.get('chat') ?? `chat-${Math.random().toString(36).slice(2, 10)}`;
if (!q.has('chat')) {
  q.set('chat', chatId);
  history.replaceState(null, '', `?${q}`);
}

const transport = new StreamFabricChatTransport({
  url: q.get('gateways')?.split(',') ?? sameOrigin,
  agent: q.get('agent') ?? 'builtin',
  options,
});

function Part({ part }: { part: UIMessage['parts'][number] }) {
  if (part.type === 'text') {
    const agent = (part.providerMetadata?.streamfabric as { agent?: string } | undefined)?.agent;
    return (
      <div className="part text" data-agent={agent ?? ''}>
        {agent && <span className="agent">{agent}</span>}
        {part.text}
      </div>
    );
  }
  if (part.type === 'dynamic-tool') {
    return (
      <div className="part tool" data-state={part.state}>
        🔧 {part.toolName}({JSON.stringify(part.input)})
        {part.state === 'output-available' && <> → {JSON.stringify(part.output)}</>}
        {part.state === 'output-error' && <> ✗ {part.errorText}</>}
      </div>
    );
  }
  if (part.type === 'data-input-request') {
    return <div className="part question">❓ {(part.data as { prompt: string }).prompt}</div>;
  }
  return null;
}

function App() {
  const { messages, sendMessage, status, stop, error } = useChat({ id: chatId, transport, resume: true });
  const [conn, setConn] = useState(transport.client.state);
  const [gateways, setGateways] = useState<string[]>([]);
  const [reconnects, setReconnects] = useState(0);
  const [input, setInput] = useState(q.get('prompt') ?? 'Tell me about durable streams');
  const latest = useRef(messages);
  latest.current = messages;
  useEffect(() => {
    const offs = [
      transport.client.on('state', (s, prev) => {
        setConn(s);
        if (s === 'open' && prev === 'reconnecting') setReconnects((n) => n + 1);
      }),
      transport.client.on('welcome', (g) => setGateways((seen) => (seen.at(-1) === g ? seen : [...seen, g]))),
    ];
    // For tests and the console: the messages as useChat holds them.
    (window as unknown as { aiChat: unknown }).aiChat = { messages: () => latest.current, transport };
    return () => {
      for (const off of offs) off();
    };
  }, []);
  const busy = status === 'submitted' || status === 'streaming';
  return (
    <main id="chat" data-status={status} data-chat={chatId}>
      <h1>StreamFabric × AI SDK</h1>
      <p className="sub">
        <code>useChat</code> with the StreamFabric transport: kill a gateway or reload the page mid-answer.
      </p>
      <div id="messages">
        {messages.map((m) => (
          <div key={m.id} className={`msg ${m.role}`} data-role={m.role}>
            {m.parts.map((p, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: parts have no id and never reorder
              <Part key={i} part={p} />
            ))}
          </div>
        ))}
      </div>
      {error && (
        <div id="error" className="error">
          {error.message}
        </div>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (input.trim()) sendMessage({ text: input });
        }}
      >
        <input id="prompt" type="text" value={input} onChange={(e) => setInput(e.target.value)} />
        <button id="send" type="submit" disabled={busy}>
          Send
        </button>
        <button id="stop" type="button" disabled={!busy} onClick={() => stop()}>
          Stop
        </button>
      </form>
      <div className="meta">
        <span>
          <span className={`dot ${conn}`} />
          <span id="state">{conn}</span>
        </span>
        <span>
          status <span id="status">{status}</span>
        </span>
        <span>
          gateway <span id="gateway">{gateways.at(-1) ?? ''}</span>
          {gateways.length > 1 && <span id="previous"> (was {gateways.slice(0, -1).join(', ')})</span>}
        </span>
        <span>
          reconnects <span id="reconnects">{reconnects}</span>
        </span>
        <span>
          session <span id="sid">{transport.sessionId(chatId) ?? '-'}</span>
        </span>
      </div>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
