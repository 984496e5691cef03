import { createServer } from 'node:http';
import { jetstream } from '@nats-io/jetstream';
import { connect, type Subscription } from '@nats-io/transport-node';
import { Server } from 'socket.io';
import { z } from 'zod';
import { SessionRegistry } from '../../shared/nats/session-registry.js';
import { jobMsgId, subjects } from '../../shared/nats/subjects.js';
import { type Job, SessionId, SessionOptions } from '../../shared/protocol/index.js';

/**
 * Peer baseline: a Socket.IO 4 server doing the gateway's job for the benchmark. Sessions are
 * started exactly as the fabric's gateway does (registry record + job on the JOBS stream), run
 * by the SAME workers, and their events arrive through the same NATS live subject
 * (fabric.live.<tenant>.<sid>); each session is a Socket.IO room. Only the gateway tier differs.
 * What it does not do (the fabric does): resume from the log, gap detection, backpressure.
 *
 * Env: NATS_URL, BASELINE_PORT (0 = any free port). Prints one JSON line with the port.
 */
const StartReq = z.object({ sid: SessionId, input: z.string(), options: SessionOptions });
const TENANT = 'public';
const decoder = new TextDecoder();

async function main(): Promise<void> {
  const nc = await connect({
    servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    name: 'sio-baseline',
    noAsyncTraces: true,
  });
  const js = jetstream(nc);
  const registry = await SessionRegistry.open(nc);
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
  // One NATS subscription per session per server, fanned out to the session's room.
  const feeds = new Map<string, { sub: Subscription; members: number }>();

  const join = (sid: string) => {
    const f = feeds.get(sid);
    if (f) {
      f.members++;
      return;
    }
    const sub = nc.subscribe(subjects.live(TENANT, sid), {
      callback: (_err, m) => {
        io.to(sid).emit('ev', decoder.decode(m.data));
      },
    });
    feeds.set(sid, { sub, members: 1 });
  };
  const leave = (sid: string) => {
    const f = feeds.get(sid);
    if (f && --f.members <= 0) {
      f.sub.unsubscribe();
      feeds.delete(sid);
    }
  };

  io.on('connection', (socket) => {
    const mine = new Set<string>();
    socket.on('start', async (raw: unknown, ack: (r: object) => void) => {
      const req = StartReq.safeParse(raw);
      if (!req.success || typeof ack !== 'function')
        return ack?.({ ok: false, error: { code: 'bad_frame' } });
      const { sid, input, options } = req.data;
      const t = Date.now();
      try {
        await registry.create({
          sid,
          tenant: TENANT,
          user: 'anonymous',
          agent: 'builtin',
          state: 'queued',
          createdAt: t,
          updatedAt: t,
          turns: 1,
          cancelRequested: false,
        });
        // Join before the job exists: events only flow live here (no catch-up from the log).
        void socket.join(sid);
        mine.add(sid);
        join(sid);
        const job: Job = {
          v: 1,
          sid,
          tenant: TENANT,
          user: 'anonymous',
          agent: 'builtin',
          input,
          options,
          turn: 1,
          createdAt: t,
        };
        await js.publish(subjects.job('builtin'), JSON.stringify(job), {
          msgID: jobMsgId(sid, 1),
          timeout: 5_000,
        });
        ack({ ok: true, sid });
      } catch (err) {
        ack({ ok: false, sid, error: { code: 'unavailable', message: String(err) } });
      }
    });
    socket.on('unsubscribe', (sid: unknown) => {
      if (typeof sid !== 'string' || !mine.delete(sid)) return;
      void socket.leave(sid);
      leave(sid);
    });
    socket.on('disconnect', () => {
      for (const sid of mine) leave(sid);
      mine.clear();
    });
  });

  const port = Number(process.env.BASELINE_PORT ?? 0);
  http.listen(port, '127.0.0.1', () => {
    const addr = http.address();
    const bound = typeof addr === 'object' && addr ? addr.port : port;
    process.stdout.write(`${JSON.stringify({ msg: 'baseline listening', port: bound })}\n`);
  });
  if (process.connected) process.on('disconnect', () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`socket.io baseline failed: ${String(err)}\n`);
  process.exit(1);
});
