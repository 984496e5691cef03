// Shared by the StreamFabric k6 scenarios: one VU = one WebSocket following LLM-shaped
// sessions back to back, measuring what the Node load client measures (loadtest/node/).
// Needs k6 >= 1.0 (the stable `k6/websockets` module). Not run in this repo's CI: k6 is not
// available on the project's machines (see docs/benchmarks.md).
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { setTimeout } from 'k6/timers';
import { WebSocket } from 'k6/websockets';

/** Producer `ts` (worker clock) -> received (k6 clock). Same machine, or NTP-synced ones. */
export const eventLatency = new Trend('sf_event_latency', true);
/** `start` sent -> first token event received. */
export const ttft = new Trend('sf_ttft', true);
/** `resume` sent after a forced reconnect -> first missed event received. */
export const resumeLatency = new Trend('sf_resume_latency', true);
export const events = new Counter('sf_events');
export const lost = new Counter('sf_lost');
export const duplicated = new Counter('sf_duplicated');
export const reordered = new Counter('sf_reordered');
export const sessionsDone = new Counter('sf_sessions_done');
export const requestErrors = new Counter('sf_request_errors');

export const URL = __ENV.SF_URL || 'ws://127.0.0.1:8080/v1/ws';
const TPS = Number(__ENV.SF_TPS || 50);
const FLUSH_MS = Number(__ENV.SF_FLUSH_MS || 100);
const LENGTH = Number(__ENV.SF_LENGTH || 400);

/**
 * Per-session seq bookkeeping: seqs skipped over are "missing" until they show up late
 * (reordered); whatever is still missing when the session ends is lost. (Counters only grow.)
 */
function seqTracker() {
  let next = 1;
  const missing = new Set();
  return {
    position: () => next - 1,
    see(seq) {
      if (seq === next) {
        next++;
      } else if (seq > next) {
        for (let s = next; s < seq; s++) missing.add(s);
        next = seq + 1;
      } else if (missing.delete(seq)) {
        reordered.add(1);
      } else {
        duplicated.add(1);
      }
    },
    end() {
      if (missing.size > 0) lost.add(missing.size);
      missing.clear();
    },
  };
}

/**
 * Runs sessions on one connection for `seconds`. Options:
 * - dropAfterMs: drop the socket this long into the first session, reconnect after `gapMs` and resume;
 * - readDelayMs: busy-wait this long per message (a slow reader: the gateway must pause the
 *   session and continue from the log, without loss and without growing its memory).
 */
export function runStreams({ seconds, dropAfterMs = 0, gapMs = 500, readDelayMs = 0 }) {
  const endAt = Date.now() + seconds * 1000;
  let n = 0;
  let session = null;
  let ws = null;

  const startSession = () => {
    if (Date.now() >= endAt) {
      ws.close();
      return;
    }
    const sid = `k6_${exec.vu.idInTest}_${exec.vu.iterationInScenario}_${n++}_${Date.now().toString(36)}`;
    session = {
      sid,
      sentAt: Date.now(),
      first: false,
      seq: seqTracker(),
      replayedUpTo: 0,
      resumeAt: 0,
      resumeAfter: -1,
    };
    const length = Math.round(LENGTH * (0.75 + Math.random() * 0.5));
    ws.send(
      JSON.stringify({
        type: 'start',
        id: sid,
        sid,
        input: `k6 ${sid}`,
        options: {
          seed: (exec.vu.idInTest * 7919 + n) % 2147483647,
          length,
          tokensPerSecond: TPS,
          flushIntervalMs: FLUSH_MS,
        },
      }),
    );
    if (dropAfterMs > 0 && n === 1) setTimeout(drop, dropAfterMs);
  };

  const onMessage = (e) => {
    if (readDelayMs > 0) {
      const until = Date.now() + readDelayMs;
      while (Date.now() < until) {
        // a slow reader: do not read the socket for a while
      }
    }
    const f = JSON.parse(e.data);
    const now = Date.now();
    if (f.type === 'welcome') return;
    if (f.type === 'reply') {
      if (!f.ok) requestErrors.add(1, { code: f.error ? f.error.code : 'unknown' });
      else if (f.op === 'resume' && session) session.replayedUpTo = f.lastSeq || 0;
      return;
    }
    if (typeof f.seq !== 'number' || !session || f.sid !== session.sid) return;
    session.seq.see(f.seq);
    if (session.seq.position() === f.seq && typeof f.prevPos === 'number') session.pos = f.prevPos;
    events.add(1);
    if (session.resumeAfter >= 0 && f.seq > session.resumeAfter) {
      resumeLatency.add(now - session.resumeAt);
      session.resumeAfter = -1;
    }
    if (f.seq > session.replayedUpTo) eventLatency.add(now - f.ts);
    if (f.type === 'token' && !session.first) {
      session.first = true;
      ttft.add(now - session.sentAt);
    }
    if (f.type === 'done' || f.type === 'error' || f.type === 'cancelled') {
      session.seq.end();
      sessionsDone.add(1);
      ws.send(JSON.stringify({ type: 'unsubscribe', sid: session.sid }));
      startSession();
    }
  };

  const open = (resume) => {
    ws = new WebSocket(URL, 'streamfabric.v1');
    ws.onmessage = (e) => {
      if (!session) {
        // First connection: the welcome frame says the gateway is ready.
        if (JSON.parse(e.data).type === 'welcome') startSession();
        return;
      }
      if (resume) {
        const f = JSON.parse(e.data);
        if (f.type === 'welcome') {
          session.resumeAfter = session.seq.position();
          session.resumeAt = Date.now();
          // `pos` (the prevPos of the last event held) lets the gateway start its log read there.
          const hint = session.pos !== undefined && session.resumeAfter > 0 ? { pos: session.pos } : {};
          ws.send(
            JSON.stringify({
              type: 'resume',
              id: session.sid,
              sid: session.sid,
              after: session.resumeAfter,
              ...hint,
            }),
          );
          resume = false;
          return;
        }
      }
      onMessage(e);
    };
    ws.onerror = (e) => console.error(`websocket error: ${e.error}`);
  };

  const drop = () => {
    if (!session) return;
    const old = ws;
    old.onmessage = () => {};
    old.close(); // k6 has no abrupt drop; the server sees the close, the session lives on in the log
    setTimeout(() => open(true), gapMs);
  };

  open(false);
}
