import type { ChildProcess } from 'node:child_process';
import { spawnBridge } from '../topology/bridge-process.js';
import { freePort } from '../topology/free-port.js';
import { type NatsCluster, startNats } from '../topology/nats-process.js';
import { killAllServices, type ServiceKind, spawnService } from '../topology/service-process.js';
import { waitFor } from '../topology/wait.js';

/** The agent the chaos runner's AutoGen bridge workers serve (demo.py's streaming assistant). */
export const BRIDGE_AGENT = 'autogen-chaos';
const BRIDGE_BUILDER = 'streamfabric_autogen.demo:assistant';

/** What a managed process is: a Node service, or an AutoGen bridge (a Python worker). */
export type ManagedKind = ServiceKind | 'bridge';

/** The part of a started process a ManagedService uses (services and bridges both have it). */
interface ManagedProcess {
  process: ChildProcess;
  logs: Record<string, unknown>[];
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * A gateway, worker or bridge that can be killed and started again with the same identity: a
 * gateway keeps its port, so the URLs clients hold stay valid across its restarts.
 */
export class ManagedService {
  proc: ManagedProcess | null = null;
  /** The log records of each incarnation (spawnService fills them as lines arrive). */
  private readonly incarnations: Record<string, unknown>[][] = [];
  /** Why starts failed (each was retried). */
  readonly startFailures: string[] = [];

  constructor(
    readonly kind: ManagedKind,
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly verbose: boolean,
  ) {}

  get up(): boolean {
    const p = this.proc?.process;
    return Boolean(p && p.exitCode === null && p.signalCode === null);
  }

  get pid(): number | undefined {
    return this.up ? this.proc?.process.pid : undefined;
  }

  async start(): Promise<void> {
    const env = { ...this.env, ...(this.kind === 'gateway' ? { WEBSOCKET_PORT: String(this.port) } : {}) };
    // Like a supervisor (systemd, Kubernetes), start again whatever stopped the start: a restarted
    // gateway may find its port still held by the dying process for a moment, and a start may
    // time out on a saturated machine. Each failure is kept for the post-mortem.
    const spawn = (): Promise<ManagedProcess> =>
      this.kind === 'bridge'
        ? spawnBridge({ builder: BRIDGE_BUILDER, agent: BRIDGE_AGENT, env, verbose: this.verbose })
        : spawnService(this.kind, { env, verbose: this.verbose });
    this.proc = await waitFor(
      () =>
        spawn().catch((err: unknown) => {
          this.startFailures.push(String(err).slice(0, 500));
          return null;
        }),
      { timeoutMs: 120_000, intervalMs: 200, what: `${this.name} to start` },
    );
    this.incarnations.push(this.proc.logs);
  }

  /** Log records of every incarnation so far, for post-mortems. */
  allLogs(): Record<string, unknown>[] {
    return this.incarnations.flat();
  }

  /** Sends a signal; for SIGKILL/SIGTERM waits for the exit. */
  async signal(sig: NodeJS.Signals): Promise<void> {
    const p = this.proc;
    if (!p || !this.up) return;
    if (sig === 'SIGSTOP' || sig === 'SIGCONT') {
      process.kill(p.process.pid!, sig);
      return;
    }
    await p.kill(sig);
  }
}

export interface TopologyOptions {
  natsNodes: number;
  gateways: number;
  workers: number;
  /** AutoGen bridge workers (Python) serving BRIDGE_AGENT next to the TypeScript workers. */
  bridgeWorkers?: number;
  /** Env for every service. */
  env?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  verbose?: boolean;
}

/** A whole fabric of real processes whose members can be killed and restarted one by one. */
export interface Topology {
  nats: NatsCluster;
  gateways: ManagedService[];
  workers: ManagedService[];
  /** The AutoGen bridge workers (empty unless `bridgeWorkers` was set). */
  bridges: ManagedService[];
  /** WebSocket URLs of every gateway (stable across restarts). */
  gatewayUrls: string[];
  /** Whether a NATS node's JetStream is healthy (current), from its monitoring port. */
  natsHealthy(i: number): Promise<boolean>;
  stop(): Promise<void>;
}

/** Starts NATS (a cluster when `natsNodes` >= 3, streams R3), gateways on fixed ports and workers. */
export async function startTopology(o: TopologyOptions): Promise<Topology> {
  const verbose = o.verbose ?? false;
  const nats = await startNats({ nodes: o.natsNodes, verbose });
  const common = {
    NATS_URL: nats.urls,
    NATS_REPLICAS: String(o.natsNodes >= 3 ? 3 : 1),
    STREAM_LOG_LEVEL: process.env.STREAM_LOG_LEVEL ?? 'info',
    ...o.env,
  };
  const gateways: ManagedService[] = [];
  for (let i = 0; i < o.gateways; i++) {
    const env = { ...common, GATEWAY_ID: `gw${i + 1}`, ...o.gatewayEnv };
    gateways.push(new ManagedService('gateway', `gw${i + 1}`, await freePort(), env, verbose));
  }
  const workers = Array.from(
    { length: o.workers },
    (_, i) =>
      new ManagedService(
        'worker',
        `wk${i + 1}`,
        0,
        { ...common, WORKER_ID: `wk${i + 1}`, ...o.workerEnv },
        verbose,
      ),
  );
  // Bridges read the same worker settings (WORKER_ACK_WAIT_MS, WORKER_MAX_DELIVER, ...).
  const bridges = Array.from(
    { length: o.bridgeWorkers ?? 0 },
    (_, i) =>
      new ManagedService(
        'bridge',
        `br${i + 1}`,
        0,
        { ...common, WORKER_ID: `br${i + 1}`, ...o.workerEnv },
        verbose,
      ),
  );
  const topology: Topology = {
    nats,
    gateways,
    workers,
    bridges,
    gatewayUrls: gateways.map((g) => `ws://127.0.0.1:${g.port}/v1/ws`),
    async natsHealthy(i) {
      const node = nats.nodes[i]!;
      const r = await fetch(`http://127.0.0.1:${node.monitorPort}/healthz`).catch(() => null);
      return r?.status === 200;
    },
    async stop() {
      await Promise.allSettled([...gateways, ...workers, ...bridges].map((s) => s.signal('SIGKILL')));
      killAllServices();
      await nats.stop();
    },
  };
  try {
    // The first gateway provisions the streams; the rest start in parallel.
    await gateways[0]?.start();
    await Promise.all([...gateways.slice(1), ...workers, ...bridges].map((s) => s.start()));
  } catch (err) {
    await topology.stop();
    throw err;
  }
  return topology;
}
