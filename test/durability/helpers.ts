import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { waitFor } from '../../scripts/topology/wait.js';
import { eventsStream, subjects, WRITER_HEADER } from '../../shared/nats/subjects.js';
import type { SessionEvent } from '../../shared/protocol/index.js';
import type { RawClient } from '../harness/raw-client.js';

/** One event as stored in the EVENTS stream, with the writer that stored it. */
export interface LoggedEvent {
  event: SessionEvent;
  writer: string;
}

/** Reads a session's whole log straight from JetStream (what the fabric really stored). */
export async function readLog(natsUrls: string, sid: string, tenant = 'public'): Promise<LoggedEvent[]> {
  const nc = await connect({ servers: natsUrls.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    const out: LoggedEvent[] = [];
    // The session's partition (NATS_PARTITIONS of this process, docs/partitions.md).
    const iter = await jsm.direct.getBatch(eventsStream(sid), {
      seq: 1,
      batch: 100_000,
      next_by_subj: subjects.events(tenant, sid),
    });
    for await (const m of iter) {
      out.push({ event: m.json<SessionEvent>(), writer: m.header.get(WRITER_HEADER) });
      if (m.pending === 0) break;
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** The id of the worker writing a session now (from the `Sf-Writer` header: `<worker>/<delivery>`). */
export async function currentWriter(natsUrls: string, sid: string): Promise<string> {
  return waitFor(
    async () => {
      const log = await readLog(natsUrls, sid);
      return log.at(-1)?.writer.split('/')[0];
    },
    { timeoutMs: 20_000, what: `a writer for ${sid}` },
  );
}

/**
 * Starts a session (the built-in model unless `agent` names another) on a raw client and returns its sid. A retryable refusal
 * (`unavailable` while NATS fails over) is retried with the same sid, as the client library does:
 * a start is idempotent by sid.
 */
export async function startSession(
  c: RawClient,
  id: string,
  options: Record<string, unknown>,
  input = 'durability',
  agent?: string,
): Promise<string> {
  const sid = `s_${id}_${Math.random().toString(36).slice(2, 10)}`;
  for (let attempt = 1; ; attempt++) {
    const reqId = `${id}#${attempt}`;
    c.send({ type: 'start', id: reqId, sid, input, options, ...(agent ? { agent } : {}) });
    const r = await c.reply((x) => x.id === reqId, 20_000);
    if (r.ok) return r.sid!;
    if (!r.error?.retryable || attempt >= 20)
      throw new Error(`start ${id} failed: ${JSON.stringify(r.error)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
