import type { JetStreamEventLog } from '../../../shared/nats/event-log.js';
import type { Job } from '../../../shared/protocol/index.js';
import type { ResumePoint } from '../agents/agent.js';

const decoder = new TextDecoder();

/**
 * Where the interrupted attempt's tokens end, from the log up to `lastSeq` (the leader's last
 * event, the position the restart is fenced on). The read is a direct get that a lagging replica
 * may answer: if it does not reach `lastSeq`, read again rather than continue from too early,
 * which would repeat text that the fenced restart would then happily follow.
 */
export async function lastTokenIndex(
  eventLog: JetStreamEventLog,
  job: Job,
  lastSeq: number,
): Promise<ResumePoint> {
  for (let tries = 0; ; tries++) {
    let idx: number | undefined;
    let reached = 0;
    for await (const e of eventLog.readAfter(job.tenant, job.sid, 0)) {
      if (e.seq > lastSeq) break;
      reached = e.seq;
      const ev = JSON.parse(decoder.decode(e.data)) as { type: string; index?: number };
      if (ev.type === 'token' && typeof ev.index === 'number') idx = ev.index;
    }
    if (reached >= lastSeq) return idx === undefined ? {} : { lastTokenIndex: idx };
    if (tries >= 20) throw new Error(`log read stopped at seq ${reached}, before the last event ${lastSeq}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
