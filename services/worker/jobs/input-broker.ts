import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamEventLog } from '../../../shared/nats/event-log.js';
import { seqOfHeaders } from '../../../shared/nats/event-log.js';
import type { SessionRegistry } from '../../../shared/nats/session-registry.js';
import { subjects } from '../../../shared/nats/subjects.js';
import { InputEvent, type SessionEvent } from '../../../shared/protocol/index.js';
import type { AskUserRequest } from '../agents/agent.js';
import type { SessionWriter } from '../publish/session-writer.js';

/** The user did not answer in time; the turn ends with an `input_timeout` error. */
export class InputTimeoutError extends Error {
  override readonly name = 'InputTimeoutError';
}

const decoder = new TextDecoder();

/**
 * Lets an agent ask the user and wait (human in the loop). The question is an `input_request`
 * event; the answer is an `input` event that a gateway appends to the log. The log is the
 * channel, so a worker that dies while waiting is replaced by one that finds the pending
 * question in the log and keeps waiting instead of asking twice.
 */
export class InputBroker {
  private asked = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly eventLog: JetStreamEventLog,
    private readonly registry: SessionRegistry,
    private readonly writer: SessionWriter,
    private readonly tenant: string,
    private readonly turn: number,
    /** This turn's events already in the log (from earlier attempts). */
    private readonly earlier: SessionEvent[],
    private readonly defaultTimeoutMs: number,
    private readonly signal: AbortSignal,
  ) {}

  async ask(req: AskUserRequest): Promise<string> {
    const k = this.asked++;
    const previous = this.earlier.filter((e) => e.type === 'input_request')[k];
    let requestId: string;
    let deadline: number;
    if (previous && previous.type === 'input_request') {
      // Asked before by a worker that was lost: do not ask twice.
      requestId = previous.requestId;
      deadline = previous.deadline ?? Date.now() + this.defaultTimeoutMs;
      const answered = this.earlier.find((e) => e.type === 'input' && e.requestId === requestId);
      if (answered && answered.type === 'input') return answered.text;
      // Or given while this rerun was on its way back here (the writer adopted it).
      const adopted = this.writer.adoptedAnswer(requestId);
      if (adopted !== undefined) return adopted;
    } else {
      requestId = `${this.writer.sid}.t${this.turn}.q${k + 1}`;
      this.writer.expectAnswer(requestId);
      deadline = Date.now() + (req.timeoutMs ?? this.defaultTimeoutMs);
      await this.writer.append({
        type: 'input_request',
        requestId,
        prompt: req.prompt,
        deadline,
        ...(req.options ? { options: req.options } : {}),
        ...(req.agent ? { agent: req.agent } : {}),
      });
    }
    await this.registry.setState(this.writer.sid, 'waiting_for_input').catch(() => undefined);
    try {
      return await this.waitForAnswer(requestId, deadline);
    } finally {
      await this.registry.setState(this.writer.sid, 'running').catch(() => undefined);
    }
  }

  private waitForAnswer(requestId: string, deadline: number): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const done = (err: Error | null, text?: string) => {
        if (settled) return;
        settled = true;
        sub.unsubscribe();
        unadopt();
        clearInterval(poll);
        clearTimeout(timer);
        this.signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(text!);
      };
      // Accepts the answer only as the very next event of the log: anything else means
      // another writer took over, and the writer's fencing handles that.
      const consider = (seq: number, streamSeq: number, data: Uint8Array) => {
        if (seq !== this.writer.lastSeq + 1) return;
        const ev = InputEvent.safeParse(JSON.parse(decoder.decode(data)));
        if (!ev.success || ev.data.requestId !== requestId) return;
        this.writer.adopt(seq, streamSeq);
        done(null, ev.data.text);
      };
      // A write still in flight when the wait began may find the answer and adopt it.
      const unadopt = this.writer.onAdopt((id, text) => {
        if (id === requestId) done(null, text);
      });
      const sub = this.nc.subscribe(subjects.live(this.tenant, this.writer.sid), {
        callback: (_err, m) => {
          const seq = seqOfHeaders(m.headers);
          if (seq !== undefined) consider(seq, Number(m.headers?.get('Nats-Sequence') ?? 0), m.data);
        },
      });
      // Safety net for a live message missed during a reconnect: look at the log itself.
      const check = async () => {
        const last = await this.eventLog.last(this.tenant, this.writer.sid).catch(() => null);
        if (last)
          consider(last.event.seq, last.streamSeq, new TextEncoder().encode(JSON.stringify(last.event)));
      };
      const poll = setInterval(() => void check(), 1_000);
      void check();
      const adopted = this.writer.adoptedAnswer(requestId);
      if (adopted !== undefined) queueMicrotask(() => done(null, adopted));
      const timer = setTimeout(
        () => done(new InputTimeoutError(`no answer to ${requestId} before the deadline`)),
        Math.max(0, deadline - Date.now()),
      );
      const onAbort = () => done(new Error('aborted while waiting for input'));
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
