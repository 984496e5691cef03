import { jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DEADLETTER_STREAM } from '../../shared/nats/subjects.js';

/** Every record in the dead-letter stream (those on `subject` only, when given). */
export async function deadLetters(nc: NatsConnection, subject?: string): Promise<StoredMsg[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(DEADLETTER_STREAM);
  const out: StoredMsg[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(DEADLETTER_STREAM, { seq }).catch(() => null);
    if (m && (subject === undefined || m.subject === subject)) out.push(m);
  }
  return out;
}
