import { StreamStore } from '@durable-streams/server';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../../../shared/logging/logger.js';
import type { HttpResult } from '../../transport/connection.js';
import { type DsCommandLog, JetStreamCommandLog, type LoggedCommand } from './ds-command-log.js';
import { applyCommand, DsCommand, type DsOutcome } from './ds-commands.js';
import { dsError } from './ds-protocol.js';

/**
 * This gateway's view of every Durable Stream: the protocol's reference in-memory store
 * (`@durable-streams/server`'s `StreamStore`, the protocol semantics as published), fed ONLY by
 * the command log in log order. Every gateway applies the same commands in the same order, so
 * offsets, producer state and closure agree everywhere: any gateway answers any offset.
 * A write is answered once this gateway has applied it (read-your-writes); a read first catches
 * up to the log's head, so a write acknowledged by one gateway is visible on every other.
 */
export class DurableStreamsView {
  readonly store = new StreamStore();
  private applied = 0;
  private nextRid = 1;
  private readonly pending = new Map<string, (o: DsOutcome) => void>();
  private readonly caughtUp: { seq: number; resolve: () => void }[] = [];
  private stopFollowing: () => void = () => {};

  constructor(
    private readonly log: DsCommandLog,
    private readonly gatewayId: string,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  /** Starts applying the log; resolves once the view holds everything logged before now. */
  async start(): Promise<void> {
    this.stopFollowing = this.log.follow(
      (c) => this.apply(c),
      (err) => this.logger.error({ err }, 'durable streams: command log follower stopped'),
    );
    await this.catchUp();
  }

  stop(): void {
    this.stopFollowing();
    this.store.cancelAllWaits();
  }

  /** Logs a command and answers with its outcome as applied here (typed 503 if the log is slow). */
  async submit(tenant: string, cmd: DsCommand, body: Uint8Array): Promise<HttpResult> {
    const rid = `${this.gatewayId}.${Date.now().toString(36)}.${this.nextRid++}`;
    const outcome = new Promise<DsOutcome>((resolve) => this.pending.set(rid, resolve));
    try {
      await this.log.append(tenant, rid, JSON.stringify(cmd), body);
      const o = await withTimeout(outcome, this.timeoutMs);
      if (o) return o.result;
      return unavailable();
    } catch (err) {
      this.logger.warn({ err, op: cmd.op }, 'durable streams: command not logged');
      return unavailable();
    } finally {
      this.pending.delete(rid);
    }
  }

  /** Resolves once every command logged so far is applied here. */
  async catchUp(): Promise<boolean> {
    const head = await this.log.head();
    if (this.applied >= head) return true;
    const reached = new Promise<void>((resolve) => this.caughtUp.push({ seq: head, resolve }));
    return (
      (await withTimeout(
        reached.then(() => true),
        this.timeoutMs,
      )) ?? false
    );
  }

  private async apply(c: LoggedCommand): Promise<void> {
    let outcome: DsOutcome;
    const parsed = DsCommand.safeParse(safeJson(c.command));
    if (!parsed.success) {
      // Written by a newer or broken gateway: skipped the same way everywhere.
      this.logger.warn({ seq: c.seq }, 'durable streams: unreadable command skipped');
      outcome = { result: dsError(400, 'Unreadable command'), changed: false };
    } else {
      outcome = await applyCommand(this.store, parsed.data, c.body);
    }
    this.applied = c.seq;
    this.pending.get(c.rid)?.(outcome);
    for (let i = this.caughtUp.length - 1; i >= 0; i--) {
      const w = this.caughtUp[i]!;
      if (w.seq <= c.seq) {
        this.caughtUp.splice(i, 1);
        w.resolve();
      }
    }
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

function unavailable(): HttpResult {
  return dsError(503, 'the stream log did not answer in time', { 'retry-after': '1' });
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens this gateway's view on the JetStream command log and brings it up to date. */
export async function openDurableStreams(
  nc: NatsConnection,
  gatewayId: string,
  logger: Logger,
): Promise<DurableStreamsView> {
  const view = new DurableStreamsView(new JetStreamCommandLog(nc), gatewayId, logger, 10_000);
  await view.start();
  return view;
}
