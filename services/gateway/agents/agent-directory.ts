import type { KV } from '@nats-io/kv';
import type { Logger } from '../../../shared/logging/logger.js';
import type { AgentBucketEntry, AgentPoolStore } from '../../../shared/nats/agent-pools.js';
import { parseAgentEntry } from '../../../shared/nats/agent-pools.js';
import {
  type AgentInfo,
  type AgentLiveWorker,
  type AgentPoolDeclaration,
  LIVENESS_HEARTBEATS,
} from '../../../shared/protocol/index.js';

/**
 * What a gateway knows of an agent. `known: false` = no pool ever declared it (a typo).
 * `declared: false` = its worker pool exists on NATS (a durable job consumer) but predates pool
 * declarations: it is served, but its liveness is unknown.
 */
export type AgentState =
  | { known: false }
  | { known: true; declared: true; kind: string; liveWorkers: number; declaredAt: number }
  | { known: true; declared: false };

export interface AgentDirectoryOptions {
  /** AGENT_HEARTBEAT_MS: a worker is live for LIVENESS_HEARTBEATS of them after its last heartbeat. */
  heartbeatMs: number;
  log: Logger;
  /** Whether a job consumer exists for the agent (pools that never declared themselves). */
  hasJobConsumer?: (agent: string) => Promise<boolean>;
  now?: () => number;
}

/** How long a "this undeclared pool exists" answer is reused before asking NATS again. */
const UNDECLARED_TTL_MS = 30_000;

/**
 * The agents the fabric knows, kept in memory from a watch of the FABRIC_AGENTS bucket, so a
 * `start` costs no KV read. A cache miss (an agent declared a moment ago, before the watch
 * delivered it) reads the bucket once before the gateway answers `unknown_agent`.
 */
export class AgentDirectory {
  private readonly pools = new Map<string, { revision: number; value?: AgentPoolDeclaration }>();
  private readonly live = new Map<string, Map<string, { revision: number; value?: AgentLiveWorker }>>();
  private readonly undeclared = new Map<string, number>();
  private watcher: Awaited<ReturnType<KV['watch']>> | null = null;
  private closed = false;

  private constructor(
    private readonly store: AgentPoolStore,
    private readonly o: AgentDirectoryOptions,
  ) {}

  /** Opens the watch; resolves once the bucket's current content is loaded. */
  static async open(store: AgentPoolStore, o: AgentDirectoryOptions): Promise<AgentDirectory> {
    const d = new AgentDirectory(store, o);
    await d.start();
    return d;
  }

  private async start(): Promise<void> {
    // The watch first (it also delivers current values), then a full load: an entry seen by both
    // is applied once per revision, and nothing written between the two is missed.
    await this.watch();
    for await (const key of await this.store.kv.keys()) {
      const e = await this.store.kv.get(key);
      const p = e ? parseAgentEntry(e) : null;
      if (p) this.apply(p);
    }
  }

  /** Follows the bucket; a watch that ends while the gateway runs (NATS trouble) is opened again. */
  private async watch(): Promise<void> {
    const watcher = await this.store.kv.watch({ key: '>' });
    this.watcher = watcher;
    void (async () => {
      for await (const e of watcher) {
        const p = parseAgentEntry(e);
        if (p) this.apply(p);
      }
    })()
      .catch((err: unknown) => this.o.log.warn({ err: String(err) }, 'agent directory watch failed'))
      .finally(() => {
        if (this.closed) return;
        this.o.log.warn('agent directory watch ended: reopening');
        const retry = () => {
          if (!this.closed) this.watch().catch(() => setTimeout(retry, 1_000).unref());
        };
        setTimeout(retry, 1_000).unref();
      });
  }

  private apply(e: AgentBucketEntry): void {
    if (e.type === 'pool') {
      const cur = this.pools.get(e.agent);
      if (cur && cur.revision >= e.revision) return;
      this.pools.set(e.agent, { revision: e.revision, ...(e.value ? { value: e.value } : {}) });
      return;
    }
    let workers = this.live.get(e.agent);
    if (!workers) {
      workers = new Map();
      this.live.set(e.agent, workers);
    }
    const cur = workers.get(e.workerId);
    if (cur && cur.revision >= e.revision) return;
    // Tombstones keep their revision so a late-arriving older put cannot resurrect a worker.
    workers.set(e.workerId, { revision: e.revision, ...(e.value ? { value: e.value } : {}) });
  }

  /** Workers of `agent` whose last heartbeat is within the liveness window. */
  liveWorkers(agent: string): number {
    const workers = this.live.get(agent);
    if (!workers) return 0;
    const cutoff = (this.o.now ?? Date.now)() - LIVENESS_HEARTBEATS * this.o.heartbeatMs;
    let n = 0;
    for (const w of workers.values()) if (w.value && w.value.heartbeatAt >= cutoff) n++;
    return n;
  }

  /** From the cache only (no I/O). */
  get(agent: string): AgentState {
    const pool = this.pools.get(agent)?.value;
    if (pool)
      return {
        known: true,
        declared: true,
        kind: pool.kind,
        liveWorkers: this.liveWorkers(agent),
        declaredAt: pool.declaredAt,
      };
    const seen = this.undeclared.get(agent);
    if (seen !== undefined && Date.now() - seen < UNDECLARED_TTL_MS) return { known: true, declared: false };
    return { known: false };
  }

  /** Like {@link get}, but a miss asks NATS before it says the agent is unknown. */
  async resolve(agent: string): Promise<AgentState> {
    const cached = this.get(agent);
    if (cached.known) return cached;
    const pool = await this.store.getPool(agent);
    if (pool) {
      this.pools.set(agent, { revision: 0, value: pool }); // the watch's entry (revision > 0) wins
      return this.get(agent);
    }
    if (await this.o.hasJobConsumer?.(agent)) {
      this.undeclared.set(agent, Date.now());
      return { known: true, declared: false };
    }
    return { known: false };
  }

  /** Every declared agent with its kind and live worker count, by name. */
  list(): AgentInfo[] {
    const out: AgentInfo[] = [];
    for (const [agent, p] of this.pools) {
      if (!p.value) continue;
      out.push({
        agent,
        kind: p.value.kind,
        liveWorkers: this.liveWorkers(agent),
        declaredAt: p.value.declaredAt,
      });
    }
    return out.sort((a, b) => (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0));
  }

  close(): void {
    this.closed = true;
    this.watcher?.stop();
  }
}
