import { Agent, createServer, request } from 'node:http';
import { z } from 'zod';
import { SessionId, SessionOptions } from '../../shared/protocol/index.js';
import { CENTRIFUGO_API_KEY, sessionChannel } from './centrifugo-setup.js';
import { type BaselineEvent, coalescedEvents } from './coalesced-events.js';

/**
 * The Centrifugo peer's "workers": the app backend a user would write next to Centrifugo. A client
 * subscribes to its session channel on Centrifugo, then POSTs /start here; this process runs the
 * same built-in model timing as the raw uWS baseline (tokens coalesced per flush interval, first
 * event at once, then one per interval, `done` last) and publishes each event to the session's
 * channel through Centrifugo's server HTTP API (`POST /api/publish`).
 *
 * Why the HTTP API and not GRPC: it is the API Centrifugo's docs lead with, it needs no extra
 * dependency, and with a keep-alive agent each publish is one request on a pooled connection
 * (no TCP or TLS set-up per event). Events of one session are published one after another (the
 * next waits for the previous reply), so they reach the channel in order, as the fabric's worker
 * writes them; sessions publish concurrently.
 *
 * Env: CENTRIFUGO_API_URL (http://host:port/api), BASELINE_PORT (0 = any free port). Prints one
 * JSON line with the port.
 */
const StartReq = z.object({ sid: SessionId, options: SessionOptions });
const TICK_MS = 10;
const api = process.env.CENTRIFUGO_API_URL ?? 'http://127.0.0.1:8000/api';
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
let publishErrors = 0;

interface Session {
  events: BaselineEvent[];
  next: number;
  /** The publish in flight: the next one starts only after it (order within the channel). */
  chain: Promise<void>;
}

function publish(channel: string, data: object): Promise<void> {
  const body = JSON.stringify({ channel, data });
  return new Promise((done) => {
    const req = request(
      `${api}/publish`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-api-key': CENTRIFUGO_API_KEY,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => {
          // Centrifugo answers 200 with {"error": {...}} for a refused publish.
          if (res.statusCode !== 200 || text.includes('"error"')) {
            if (publishErrors++ < 5) process.stderr.write(`centrifugo publish: ${res.statusCode} ${text}\n`);
          }
          done();
        });
      },
    );
    req.on('error', (err) => {
      if (publishErrors++ < 5) process.stderr.write(`centrifugo publish: ${err.message}\n`);
      done();
    });
    req.end(body);
  });
}

// Sessions due at each tick of the wheel (one wheel turn = the flush interval), as in the uWS baseline.
let wheel: Set<Session>[] = [];
let tick = 0;

/** Queues the session's next event for publishing; false once `done` has been queued. */
function emit(s: Session): boolean {
  const e = s.events[s.next++]!;
  const channel = sessionChannel(e.sid);
  s.chain = s.chain.then(() => publish(channel, { ...e, ts: Date.now() }));
  return s.next < s.events.length;
}

function begin(sid: string, o: SessionOptions): void {
  const flushMs = o.flushIntervalMs ?? 100;
  const slots = Math.max(1, Math.round(flushMs / TICK_MS));
  if (wheel.length !== slots) wheel = Array.from({ length: slots }, () => new Set<Session>());
  const s: Session = {
    events: coalescedEvents(sid, o.seed ?? 1, o.length ?? 100, o.tokensPerSecond ?? 50, flushMs, TICK_MS),
    next: 0,
    chain: Promise.resolve(),
  };
  if (emit(s)) wheel[tick % wheel.length]!.add(s);
}

setInterval(() => {
  tick++;
  if (wheel.length === 0) return;
  const slot = wheel[tick % wheel.length]!;
  for (const s of slot) if (!emit(s)) slot.delete(s);
}, TICK_MS);

const server = createServer((req, res) => {
  const reply = (status: number, body: object) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method !== 'POST' || req.url !== '/start') return reply(404, { ok: false });
  let raw = '';
  req.on('data', (d: Buffer) => {
    raw += d.toString();
  });
  req.on('end', () => {
    let parsed: z.ZodSafeParseResult<z.infer<typeof StartReq>>;
    try {
      parsed = StartReq.safeParse(JSON.parse(raw));
    } catch {
      return reply(400, {
        ok: false,
        error: { code: 'bad_request', message: 'invalid JSON', retryable: false },
      });
    }
    if (!parsed.success)
      return reply(400, {
        ok: false,
        error: { code: 'bad_request', message: 'invalid start', retryable: false },
      });
    const { sid, options } = parsed.data;
    reply(200, { ok: true, sid });
    // A thinking model (the idle-memory measurement) publishes nothing for thinkMs.
    const think = options.thinkMs ?? 0;
    if (think > 0) setTimeout(() => begin(sid, options), think).unref();
    else begin(sid, options);
  });
});
server.keepAliveTimeout = 120_000;

server.listen(Number(process.env.BASELINE_PORT ?? 0), '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  process.stdout.write(`${JSON.stringify({ msg: 'baseline listening', port })}\n`);
  if (process.connected) process.on('disconnect', () => process.exit(0));
});
