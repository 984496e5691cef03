import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from '../../../shared/logging/logger.js';
import { eventPosition } from '../../../shared/nats/event-headers.js';
import type { JetStreamEventLog } from '../../../shared/nats/event-log.js';
import { subjects } from '../../../shared/nats/subjects.js';
import type { EventSink } from './event-sink.js';
import { ReadLimiter } from './read-limiter.js';
import { type DeliveryObserver, SessionSubscription } from './session-subscription.js';
import { StreamPositions } from './stream-positions.js';

/** One upstream subscription per session per gateway, shared by every local client of it. */
interface Feed {
  upstream: Subscription;
  subscribers: Set<SessionSubscription>;
  /** Recent (seq, stream seq) pairs of this session's live events: where catch-up reads start. */
  positions: StreamPositions;
  /** Set while the feed outlives its last subscriber (STREAM_RECONNECTION_TIMEOUT). */
  linger?: ReturnType<typeof setTimeout>;
}

/**
 * Subscribes upstream once per session per node and fans events out locally (Centrifuge's
 * hub pattern). Event bytes are forwarded as stored: never re-encoded, never JSON-parsed.
 */
export class FanoutHub {
  private readonly feeds = new Map<string, Feed>();
  /** At most this many catch-up reads at once (x readMaxBytes = the responses NATS may have in flight). */
  private readonly reads = new ReadLimiter(64);

  constructor(
    private readonly nc: NatsConnection,
    private readonly eventLog: JetStreamEventLog,
    private readonly observer: DeliveryObserver,
    private readonly log: Logger,
    /** Bytes one catch-up read fetches at most (the send-buffer mark: a paused client takes no more). */
    private readonly readMaxBytes?: number,
    /**
     * How long a session's upstream subscription outlives its last local subscriber (ms): a client
     * that drops and comes back to this gateway finds it still there. 0 releases at once.
     */
    private readonly lingerMs = 0,
  ) {
    void this.resyncAfterReconnects();
  }

  /** Number of sessions with at least one local subscriber. */
  get sessionCount(): number {
    return this.feeds.size;
  }

  /**
   * Delivers a session's events after `after` to `sink`, then live ones, until `unsubscribe`.
   * `onFirst` runs once when the first event reaches the sink. `pos` is the client's resume hint
   * (the `prevPos` of its event `after`).
   */
  subscribe(
    tenant: string,
    sid: string,
    after: number,
    sink: EventSink,
    onFirst?: () => void,
    pos?: number,
  ): SessionSubscription {
    const key = `${tenant}.${sid}`;
    let feed = this.feeds.get(key);
    if (!feed) {
      const subs = new Set<SessionSubscription>();
      const positions = new StreamPositions();
      // Subscribe live BEFORE reading the log, so nothing falls between the two.
      const upstream = this.nc.subscribe(subjects.live(tenant, sid), {
        callback: (_err, m) => this.dispatch(subs, positions, m),
      });
      feed = { upstream, subscribers: subs, positions };
      this.feeds.set(key, feed);
    } else if (feed.linger) {
      clearTimeout(feed.linger);
      feed.linger = undefined;
    }
    const sub = new SessionSubscription(
      sid,
      after,
      // A client back after a drop resumes a few events behind the live edge: start the log
      // read there, not at the session's first event (every skipped event costs NATS a scan).
      // Its own hint serves on any gateway; this feed's memory serves when it has none.
      Math.max(feed.positions.startFor(after), pos === undefined ? 1 : pos + 1),
      sink,
      (a, hint, batch = 512) =>
        this.reads.run(() => this.eventLog.readAfter(tenant, sid, a, hint, batch, this.readMaxBytes)),
      this.observer,
      this.log,
      onFirst,
    );
    feed.subscribers.add(sub);
    sub.start();
    return sub;
  }

  unsubscribe(tenant: string, sub: SessionSubscription): void {
    sub.close();
    const key = `${tenant}.${sub.sid}`;
    const feed = this.feeds.get(key);
    if (!feed) return;
    feed.subscribers.delete(sub);
    if (feed.subscribers.size > 0 || feed.linger) return;
    const release = () => {
      if (feed.subscribers.size > 0) return;
      feed.upstream.unsubscribe();
      this.feeds.delete(key);
    };
    if (this.lingerMs > 0) {
      feed.linger = setTimeout(release, this.lingerMs);
      feed.linger.unref?.();
    } else release();
  }

  /** Makes every live subscription check the log for events its live feed may have missed. */
  resyncAll(): void {
    for (const feed of this.feeds.values()) for (const s of feed.subscribers) s.resync();
  }

  /**
   * Core subscriptions survive a NATS reconnect (nats.js re-subscribes), but republished events
   * sent while this gateway was disconnected are gone. A later event would reveal the gap, but
   * the missed one may be the last (`done`): so after every reconnect, catch up from the log.
   */
  private async resyncAfterReconnects(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type !== 'reconnect') continue;
      this.log.info({ sessions: this.feeds.size }, 'nats reconnected: resyncing live sessions from the log');
      this.resyncAll();
    }
  }

  private dispatch(subs: Set<SessionSubscription>, positions: StreamPositions, m: Msg): void {
    const pos = eventPosition(m);
    if (!pos) return;
    positions.record(pos.seq, pos.streamSeq);
    const data = m.data;
    for (const s of subs) s.onLive(pos.seq, pos.streamSeq, data, pos.ts, pos.tokens);
  }
}
