import { Centrifuge, type StreamPosition, type SubscribedContext } from 'centrifuge';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { CENTRIFUGO_HMAC_SECRET, sessionChannel } from '../baselines/centrifugo-setup.js';
import { type CentrifugoNode, centrifugoApi, startCentrifugo } from './centrifugo-process.js';

/** What a client that had read part of a session finds after Centrifugo restarts. */
export interface RestartCheck {
  engine: 'memory';
  published: number;
  /** Position the client had read up to before the restart. */
  before: StreamPosition;
  /** Publications history held for the channel before and after the restart (server API). */
  historyBefore: number;
  historyAfter: number;
  /** The client's subscribe `since` the old position after the restart. */
  afterRestart: {
    wasRecovering: boolean;
    recovered: boolean;
    epochChanged: boolean;
    /** Events the client got back out of those it missed (published - before.offset). */
    missedRecovered: number;
    missed: number;
    /** Error code the subscription reported, if any (112 = unrecoverable position). */
    errorCode: number | null;
  };
  verdict: string;
}

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

async function client(node: CentrifugoNode): Promise<Centrifuge> {
  const token = await new SignJWT({ sub: 'restart-check' })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(CENTRIFUGO_HMAC_SECRET));
  const c = new Centrifuge(node.wsUrl, { websocket: WebSocket, token, timeout: 10_000 });
  c.connect();
  await c.ready(10_000);
  return c;
}

/**
 * Subscribes (optionally `since` a position) and collects publications until `want` of them came
 * (10 s at most, for a loaded box), or for half a second when none are expected.
 */
async function follow(
  node: CentrifugoNode,
  channel: string,
  since: StreamPosition | undefined,
  want: number,
): Promise<{
  ctx: SubscribedContext | null;
  seqs: number[];
  errorCode: number | null;
  last?: StreamPosition;
}> {
  const c = await client(node);
  const seqs: number[] = [];
  let ctx: SubscribedContext | null = null;
  let errorCode: number | null = null;
  let last: StreamPosition | undefined;
  const sub = c.newSubscription(channel, since ? { since } : {});
  sub.on('publication', (p) => {
    seqs.push((p.data as { seq: number }).seq);
    if (p.offset !== undefined && last) last.offset = p.offset;
  });
  sub.on('error', (e) => {
    errorCode = e.error.code;
  });
  await new Promise<void>((done) => {
    sub.on('subscribed', (x) => {
      ctx = x;
      if (x.streamPosition) last = { ...x.streamPosition };
      done();
    });
    sub.on('unsubscribed', () => done());
    sub.subscribe();
    setTimeout(done, 10_000).unref();
  });
  // Recovered publications are delivered right after `subscribed`.
  const until = Date.now() + (want > 0 ? 10_000 : 500);
  while (Date.now() < until && (want === 0 || seqs.length < want))
    await new Promise((r) => setTimeout(r, 20));
  c.disconnect();
  return { ctx, seqs, errorCode, ...(last ? { last } : {}) };
}

async function publishSeqs(node: CentrifugoNode, channel: string, from: number, to: number): Promise<void> {
  for (let seq = from; seq <= to; seq++)
    await centrifugoApi(node.apiUrl, 'publish', { channel, data: { type: 'token', seq, ts: Date.now() } });
}

async function historyCount(node: CentrifugoNode, channel: string): Promise<number> {
  const r = await centrifugoApi<{ result?: { publications?: unknown[] } }>(node.apiUrl, 'history', {
    channel,
    limit: 1000,
  });
  return r.result?.publications?.length ?? 0;
}

/**
 * A session's stream across a Centrifugo restart (memory engine, the default): publish 10
 * events, a client reads them, 10 more are published while it is away, Centrifugo restarts on
 * the same port, the client subscribes again with recovery from where it was. What it gets back
 * is what a user of this setup survives.
 */
export async function centrifugoRestartCheck(verbose = false): Promise<RestartCheck> {
  const channel = sessionChannel(`restart-check-${Date.now().toString(36)}`);
  let node = await startCentrifugo(undefined, verbose);
  try {
    await publishSeqs(node, channel, 1, 10);
    const first = await follow(node, channel, { offset: 0, epoch: '' }, 10);
    const before = first.last ?? { offset: 0, epoch: '' };
    await publishSeqs(node, channel, 11, 20);
    const historyBefore = await historyCount(node, channel);
    const port = node.port;
    await node.stop();
    node = await startCentrifugo(port, verbose);
    const historyAfter = await historyCount(node, channel);
    const again = await follow(node, channel, before, 0);
    const missed = 20 - before.offset;
    const got = again.seqs.filter((s) => s > before.offset).length;
    const c = again.ctx as SubscribedContext | null;
    const result: RestartCheck = {
      engine: 'memory',
      published: 20,
      before,
      historyBefore,
      historyAfter,
      afterRestart: {
        wasRecovering: c?.wasRecovering ?? false,
        recovered: c?.recovered ?? false,
        epochChanged: (c?.streamPosition?.epoch ?? '') !== before.epoch,
        missedRecovered: got,
        missed,
        errorCode: again.errorCode,
      },
      verdict:
        got === missed
          ? 'history survived the restart'
          : `history lost on restart: ${got} of ${missed} missed events recovered` +
            `${c?.wasRecovering && !c.recovered ? ' (subscribe reported recovered=false: the client must reload the session some other way)' : ''}`,
    };
    log(`centrifugo restart check: ${result.verdict}`);
    return result;
  } finally {
    await node.stop();
  }
}
