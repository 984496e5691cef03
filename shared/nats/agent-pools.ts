import { type KV, type KvEntry, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { type AgentKind, AgentLiveWorker, AgentPoolDeclaration, WorkerId } from '../protocol/agent-pools.js';
import { AGENTS_BUCKET, agentKeys } from './subjects.js';

/** One parsed entry of the agents bucket; `deleted` for DEL/PURGE markers (a worker that left). */
export type AgentBucketEntry =
  | { type: 'pool'; agent: string; revision: number; deleted: boolean; value?: AgentPoolDeclaration }
  | {
      type: 'live';
      agent: string;
      workerId: string;
      revision: number;
      deleted: boolean;
      value?: AgentLiveWorker;
    };

/** Reads a bucket entry back into its typed form; null for keys or values that fit no schema. */
export function parseAgentEntry(e: KvEntry): AgentBucketEntry | null {
  const parts = e.key.split('.');
  const deleted = e.operation !== 'PUT' || e.length === 0;
  let value: unknown;
  if (!deleted) {
    try {
      value = e.json();
    } catch {
      return null;
    }
  }
  if (parts[0] === 'pool' && parts.length === 2) {
    const agent = parts[1]!;
    if (deleted) return { type: 'pool', agent, revision: e.revision, deleted };
    const p = AgentPoolDeclaration.safeParse(value);
    return p.success && p.data.agent === agent
      ? { type: 'pool', agent, revision: e.revision, deleted, value: p.data }
      : null;
  }
  if (parts[0] === 'live' && parts.length === 3) {
    const [, agent, workerId] = parts as [string, string, string];
    if (deleted) return { type: 'live', agent, workerId, revision: e.revision, deleted };
    const p = AgentLiveWorker.safeParse(value);
    return p.success && p.data.agent === agent && p.data.workerId === workerId
      ? { type: 'live', agent, workerId, revision: e.revision, deleted, value: p.data }
      : null;
  }
  return null;
}

/**
 * The FABRIC_AGENTS bucket (docs/agent-pools.md): workers put `pool.<agent>` and heartbeat
 * `live.<agent>.<workerId>`; gateways watch it. Provisioned by provisionFabric.
 */
export class AgentPoolStore {
  private constructor(readonly kv: KV) {}

  static async open(nc: NatsConnection): Promise<AgentPoolStore> {
    return new AgentPoolStore(await new Kvm(nc).open(AGENTS_BUCKET));
  }

  async declarePool(agent: string, kind: AgentKind, now = Date.now()): Promise<void> {
    const decl: AgentPoolDeclaration = { v: 1, agent, kind, declaredAt: now };
    await this.kv.put(agentKeys.pool(agent), JSON.stringify(AgentPoolDeclaration.parse(decl)));
  }

  async putLive(rec: AgentLiveWorker): Promise<void> {
    await this.kv.put(agentKeys.live(rec.agent, rec.workerId), JSON.stringify(AgentLiveWorker.parse(rec)));
  }

  async deleteLive(agent: string, workerId: string): Promise<void> {
    await this.kv.delete(agentKeys.live(agent, workerId));
  }

  /** The pool declaration, read from the bucket (the directory's fallback when its cache misses). */
  async getPool(agent: string): Promise<AgentPoolDeclaration | null> {
    const e = await this.kv.get(agentKeys.pool(agent));
    if (!e) return null;
    const p = parseAgentEntry(e);
    return p?.type === 'pool' && !p.deleted && p.value ? p.value : null;
  }
}

/** Makes a worker id fit the key grammar (WORKER_ID is free text in the config). */
export function workerKeyId(id: string): string {
  if (WorkerId.safeParse(id).success) return id;
  return id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'worker';
}

export interface DeclarationOptions {
  workerId: string;
  agents: { agent: string; kind: AgentKind }[];
  heartbeatMs: number;
  /** A failed heartbeat (NATS down): logged; the next tick tries again. */
  onError?: (err: unknown) => void;
}

/** A worker's declarations: heartbeats until `stop()`, which deletes its live keys. */
export interface AgentDeclarations {
  stop(): Promise<void>;
}

/**
 * Declares a worker's agents: puts each `pool.<agent>` and `live.<agent>.<workerId>` before
 * resolving (so a worker that reports ready is already visible to gateways), then heartbeats.
 */
export async function declareAgents(
  store: AgentPoolStore,
  o: DeclarationOptions,
): Promise<AgentDeclarations> {
  const workerId = workerKeyId(o.workerId);
  const startedAt = Date.now();
  const beat = (now: number) =>
    Promise.all(
      o.agents.map((a) =>
        store.putLive({ v: 1, agent: a.agent, workerId, kind: a.kind, startedAt, heartbeatAt: now }),
      ),
    );
  await Promise.all(o.agents.map((a) => store.declarePool(a.agent, a.kind, startedAt)));
  await beat(startedAt);
  let running = false;
  const timer = setInterval(() => {
    if (running) return; // a slow put (NATS trouble) must not pile up heartbeats
    running = true;
    beat(Date.now())
      .catch((err: unknown) => o.onError?.(err))
      .finally(() => {
        running = false;
      });
  }, o.heartbeatMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await Promise.allSettled(o.agents.map((a) => store.deleteLive(a.agent, workerId)));
    },
  };
}
