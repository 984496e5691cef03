import { connect, type NatsConnection } from '@nats-io/transport-node';
import { currentWriter } from '../durability/helpers.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import type { PoolRole, WorkerDriver, WorkerProc } from './driver.js';

/** Ack deadline of every conformance worker: a lost worker's job is redelivered about 2 s later. */
export const ACK_WAIT_MS = 2_000;
/** Deliveries the poison pool allows before it declares a job poison. */
export const POISON_MAX_DELIVER = 2;

/**
 * One implementation's shared topology: a nats-server, two gateways and the implementation's
 * worker pools (two workers in the main pool, one in each other pool), reused by every scenario.
 */
export interface ConformanceTopology {
  driver: WorkerDriver;
  fabric: TestFabric;
  nc: NatsConnection;
  /** Live worker processes by agent (pools that share an agent are one pool). */
  live(pool: PoolRole): WorkerProc[];
  /** Starts one more worker in `pool`. */
  spawn(pool: PoolRole): Promise<WorkerProc>;
  /** The live worker that wrote the session's last event. */
  writerOf(sid: string): Promise<WorkerProc>;
  /** SIGKILLs a worker and starts its replacement in the same pool (resolves once it is ready). */
  replace(victim: WorkerProc, pool: PoolRole): Promise<WorkerProc>;
  stop(): Promise<void>;
}

export async function startConformanceTopology(driver: WorkerDriver): Promise<ConformanceTopology> {
  const fabric = await startFabric({ gateways: 2, workers: 0 });
  const nc = await connect({ servers: fabric.nats.urls.split(',') });
  const pools = new Map<string, WorkerProc[]>();
  const all: WorkerProc[] = [];
  let n = 0;
  const poolOf = (pool: PoolRole) => {
    const agent = driver.agent(pool);
    if (!pools.has(agent)) pools.set(agent, []);
    return pools.get(agent)!;
  };
  const t: ConformanceTopology = {
    driver,
    fabric,
    nc,
    live: (pool) => poolOf(pool),
    async spawn(pool) {
      const env: Record<string, string> = {
        WORKER_ID: `${driver.name}-${pool}-${++n}`,
        WORKER_ACK_WAIT_MS: String(ACK_WAIT_MS),
        ...(pool === 'poison' ? { WORKER_MAX_DELIVER: String(POISON_MAX_DELIVER) } : {}),
      };
      const w = await driver.spawn(pool, env, fabric);
      all.push(w);
      poolOf(pool).push(w);
      return w;
    },
    async writerOf(sid) {
      const id = await currentWriter(fabric.nats.urls, sid);
      const w = all.find((p) => p.id === id);
      if (!w) throw new Error(`no worker process with id ${id}`);
      return w;
    },
    async replace(victim, pool) {
      await victim.kill('SIGKILL');
      for (const list of pools.values()) if (list.includes(victim)) list.splice(list.indexOf(victim), 1);
      return t.spawn(pool);
    },
    async stop() {
      await Promise.allSettled(all.map((w) => w.kill('SIGKILL')));
      await nc.close().catch(() => undefined);
      await fabric.stop();
      await driver.stop?.();
    },
  };
  try {
    const mainAgent = driver.agent('main');
    const extra = (['human', 'history'] as const).filter(
      (p, i, list) =>
        driver.agent(p) !== mainAgent && list.findIndex((q) => driver.agent(q) === driver.agent(p)) === i,
    );
    await Promise.all([t.spawn('main'), t.spawn('main'), ...extra.map((p) => t.spawn(p))]);
  } catch (err) {
    await t.stop();
    throw err;
  }
  return t;
}
