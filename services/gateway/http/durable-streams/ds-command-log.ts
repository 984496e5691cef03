import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { DURABLE_STREAMS_STREAM, subjects } from '../../../../shared/nats/subjects.js';

/** One command as stored in the log: its position, its JSON header and the request body. */
export interface LoggedCommand {
  seq: number;
  /** The id the submitting gateway gave it, to hand the outcome back to the waiting request. */
  rid: string;
  command: string;
  body: Uint8Array;
}

/** The ordered, replicated log of Durable Streams commands (port; JetStream below). */
export interface DsCommandLog {
  /** Stores a command; resolves with its position once the log holds it. */
  append(tenant: string, rid: string, command: string, body: Uint8Array): Promise<number>;
  /** Position of the newest stored command (0 when empty). */
  head(): Promise<number>;
  /** Delivers every command in order, from the first, then new ones as they come; returns a stop. */
  follow(apply: (c: LoggedCommand) => Promise<void>, onError: (err: unknown) => void): () => void;
}

const COMMAND_HEADER = 'Ds-Command';
const RID_HEADER = 'Ds-Rid';

/**
 * The command log on the FABRIC_DS stream. `Nats-Msg-Id` is the request id, so a publish retried
 * by the client library after a lost ack is stored once.
 */
export class JetStreamCommandLog implements DsCommandLog {
  private readonly js;
  constructor(private readonly nc: NatsConnection) {
    this.js = jetstream(nc);
  }

  async append(tenant: string, rid: string, command: string, body: Uint8Array): Promise<number> {
    const h = headers();
    h.set(COMMAND_HEADER, command);
    h.set(RID_HEADER, rid);
    const ack = await this.js.publish(subjects.durableStreams(tenant), body, { msgID: rid, headers: h });
    return ack.seq;
  }

  async head(): Promise<number> {
    const jsm = await jetstreamManager(this.nc);
    return (await jsm.streams.info(DURABLE_STREAMS_STREAM)).state.last_seq;
  }

  follow(apply: (c: LoggedCommand) => Promise<void>, onError: (err: unknown) => void): () => void {
    let stopped = false;
    let stop = () => {
      stopped = true;
    };
    void (async () => {
      // An ordered consumer: in order, no gaps, re-created by the library after a reconnect.
      const consumer = await this.js.consumers.get(DURABLE_STREAMS_STREAM, {
        filter_subjects: [subjects.allDurableStreams],
      });
      const msgs = await consumer.consume();
      stop = () => {
        stopped = true;
        void msgs.close();
      };
      if (stopped) stop();
      for await (const m of msgs) {
        await apply({
          seq: m.seq,
          rid: m.headers?.get(RID_HEADER) ?? '',
          command: m.headers?.get(COMMAND_HEADER) ?? '',
          body: m.data,
        });
      }
    })().catch(onError);
    return () => stop();
  }
}
