import { App, us_listen_socket_close, us_socket_local_port, type WebSocket } from 'uWebSockets.js';
import { coalescedEvents } from './coalesced-events.js';

/**
 * Physical-limit baseline: raw uWebSockets.js fan-out of pre-built events, no broker, no
 * worker, no log. It speaks the subset of the fabric protocol the load client uses (welcome,
 * start -> reply, token events with contiguous seq, done, unsubscribe), so the same load client
 * measures it. Events are encoded at start (only `ts` is appended at send time) and paced by one
 * shared tick: it shows what delivering the same event rate costs with nothing else in the way.
 *
 * The product rule "uWebSockets.js only in services/gateway/transport/" is about the product's
 * code; this is a separate benchmark program under loadtest/, not part of the gateway.
 *
 * Env: BASELINE_PORT (0 = any free port). Prints one JSON line with the port.
 */
interface Stream {
  ws: WebSocket<UserData>;
  /** Pre-built frames without their closing `ts` value: `..."ts":` + now + `}`. */
  frames: string[];
  next: number;
}
interface UserData {
  streams: Map<string, Stream>;
  open: boolean;
}

const TICK_MS = 10;
const decoder = new TextDecoder();

/** Encodes a session's events once: tokens grouped per flush interval, then `done`. */
function prebuild(sid: string, seed: number, length: number, tps: number, flushMs: number): string[] {
  // Field order as the fabric sends them, `ts` last so it can be appended at send time.
  return coalescedEvents(sid, seed, length, tps, flushMs, TICK_MS).map(
    (e) => `${JSON.stringify(e).slice(0, -1)},"ts":`,
  );
}

const app = App();
// Streams due at each tick of the wheel (one wheel turn = the flush interval).
let wheel: Set<Stream>[] = [];
let tick = 0;

app.ws<UserData>('/v1/ws', {
  compression: 0,
  maxBackpressure: 1024 * 1024,
  idleTimeout: 120,
  open: (ws) => {
    const ud = ws.getUserData();
    ud.streams = new Map();
    ud.open = true;
    ws.send('{"type":"welcome","protocol":1,"gateway":"uws-baseline","heartbeatMs":15000}');
  },
  message: (ws, message) => {
    const f = JSON.parse(decoder.decode(message)) as {
      type: string;
      sid: string;
      options?: { seed?: number; length?: number; tokensPerSecond?: number; flushIntervalMs?: number };
    };
    const ud = ws.getUserData();
    if (f.type === 'start') {
      const o = f.options ?? {};
      const flushMs = o.flushIntervalMs ?? 100;
      const slots = Math.max(1, Math.round(flushMs / TICK_MS));
      if (wheel.length !== slots) wheel = Array.from({ length: slots }, () => new Set<Stream>());
      const s: Stream = {
        ws,
        frames: prebuild(f.sid, o.seed ?? 1, o.length ?? 100, o.tokensPerSecond ?? 50, flushMs),
        next: 0,
      };
      ud.streams.set(f.sid, s);
      ws.send(JSON.stringify({ type: 'reply', id: f.sid, op: 'start', ok: true, sid: f.sid }));
      // The first event leaves at once (as the fabric's coalescer does), then one per wheel turn.
      emit(s);
      wheel[tick % wheel.length]!.add(s);
    } else if (f.type === 'unsubscribe') {
      ud.streams.delete(f.sid);
      ws.send(JSON.stringify({ type: 'reply', op: 'unsubscribe', ok: true, sid: f.sid }));
    }
  },
  close: (ws) => {
    const ud = ws.getUserData();
    ud.open = false;
    for (const s of ud.streams.values()) for (const slot of wheel) slot.delete(s);
  },
});

function emit(s: Stream): boolean {
  if (!s.ws.getUserData().open) return false;
  s.ws.send(`${s.frames[s.next++]}${Date.now()}}`);
  return s.next < s.frames.length;
}

setInterval(() => {
  tick++;
  if (wheel.length === 0) return;
  const slot = wheel[tick % wheel.length]!;
  for (const s of slot) if (!emit(s)) slot.delete(s);
}, TICK_MS);

const port = Number(process.env.BASELINE_PORT ?? 0);
app.listen('127.0.0.1', port, (sock) => {
  if (!sock) {
    process.stderr.write(`uws baseline: cannot listen on ${port}\n`);
    process.exit(1);
  }
  process.stdout.write(
    `${JSON.stringify({ msg: 'baseline listening', port: us_socket_local_port(sock as never) })}\n`,
  );
  if (process.connected)
    process.on('disconnect', () => {
      us_listen_socket_close(sock);
      process.exit(0);
    });
});
