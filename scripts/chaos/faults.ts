import { waitFor } from '../topology/wait.js';
import type { CheckingClient } from './checking-client.js';
import type { ManagedService, Topology } from './topology.js';

/** The faults the chaos runner injects. */
export const FAULT_KINDS = [
  'gateway-kill', // SIGKILL a gateway, restart it after a pause
  'gateway-drain', // SIGTERM a gateway (goaway + drain), restart it
  'worker-kill', // SIGKILL a worker mid-stream, restart it
  'worker-zombie', // SIGSTOP a worker past the ack deadline, then SIGCONT: it must be fenced
  'nats-kill', // SIGKILL one NATS node, restart it
  'client-drop', // drop a client's connection
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultRecord {
  /** Milliseconds since the run started. */
  at: number;
  kind: FaultKind;
  target: string;
}

/** Relative frequency of each fault kind. */
const WEIGHTS: Record<FaultKind, number> = {
  'gateway-kill': 3,
  'gateway-drain': 1,
  'worker-kill': 3,
  'worker-zombie': 1,
  'nats-kill': 2,
  'client-drop': 3,
};

/**
 * Injects faults into a running topology, never more than the fabric is designed to survive at
 * once: at least one gateway and one worker stay up, and at most one NATS node of three is down
 * (the next NATS fault waits until the restarted node is healthy again). Every choice is drawn
 * from `rand`, so a seed replays the same schedule of kinds and targets.
 */
export class FaultInjector {
  readonly records: FaultRecord[] = [];
  private readonly busy = new Set<string>();
  private readonly background: Promise<void>[] = [];
  /** performance.now() at construction: the origin of every record's `at`. */
  readonly started = performance.now();
  private readonly recoveryFailures: string[] = [];

  constructor(
    private readonly topology: Topology,
    private readonly clients: CheckingClient[],
    private readonly rand: () => number,
    private readonly opts: { ackWaitMs: number; kinds: readonly FaultKind[]; log: (line: string) => void },
  ) {}

  /** Injects one fault of a kind drawn by weight among those possible now; null if none is. */
  async injectOne(): Promise<FaultRecord | null> {
    const draw = this.rand();
    const pick = this.rand();
    const delay = 300 + Math.floor(this.rand() * 1_500);
    const possible = this.opts.kinds.filter((k) => this.candidates(k).length > 0);
    if (possible.length === 0) return null;
    const total = possible.reduce((s, k) => s + WEIGHTS[k], 0);
    let x = draw * total;
    let kind = possible.at(-1)!;
    for (const k of possible) {
      x -= WEIGHTS[k];
      if (x < 0) {
        kind = k;
        break;
      }
    }
    const targets = this.candidates(kind);
    const target = targets[Math.floor(pick * targets.length)]!;
    const record: FaultRecord = {
      at: Math.round(performance.now() - this.started),
      kind,
      target: target.name,
    };
    this.records.push(record);
    this.opts.log(`fault ${record.at}ms ${kind} ${target.name}`);
    await target.inject(delay);
    return record;
  }

  /** Waits for every restart still in progress. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.background);
    const t = this.topology;
    const down = async () => {
      const out: string[] = [];
      for (let i = 0; i < t.nats.nodes.length; i++)
        if (!(await t.natsHealthy(i))) out.push(`nats-${t.nats.nodes[i]!.name}`);
      for (const s of [...t.gateways, ...t.workers, ...t.bridges]) if (!s.up) out.push(s.name);
      return out;
    };
    try {
      await waitFor(async () => (await down()).length === 0, {
        timeoutMs: 150_000,
        intervalMs: 250,
        what: 'the topology to heal',
      });
    } catch (err) {
      // Say what did not come back and why, so a failed run can be diagnosed from CI's output.
      const starts = [...t.gateways, ...t.workers, ...t.bridges].flatMap((s) =>
        s.startFailures.map((f) => `${s.name}: ${f}`),
      );
      throw new Error(
        `${String(err)}; still down: ${(await down()).join(', ')}; recovery failures: ${JSON.stringify(this.recoveryFailures)}; failed starts: ${JSON.stringify(starts.slice(-5))}`,
      );
    }
  }

  private candidates(kind: FaultKind): { name: string; inject: (delayMs: number) => Promise<void> }[] {
    const t = this.topology;
    switch (kind) {
      case 'gateway-kill':
      case 'gateway-drain':
        return this.services(t.gateways).map((g) => ({
          name: g.name,
          inject: (d) => this.bounce(g, kind === 'gateway-kill' ? 'SIGKILL' : 'SIGTERM', d),
        }));
      // Bridges are workers too (of their own pool, which keeps one standing like the others).
      case 'worker-kill':
        return [...this.services(t.workers), ...this.services(t.bridges)].map((w) => ({
          name: w.name,
          inject: (d) => this.bounce(w, 'SIGKILL', d),
        }));
      case 'worker-zombie':
        return [...this.services(t.workers), ...this.services(t.bridges)].map((w) => ({
          name: w.name,
          inject: (d) => this.freeze(w, d),
        }));
      case 'nats-kill': {
        if (t.nats.nodes.length < 3 || [...this.busy].some((b) => b.startsWith('nats'))) return [];
        return t.nats.nodes.map((n, i) => ({ name: `nats-${n.name}`, inject: (d) => this.bounceNats(i, d) }));
      }
      case 'client-drop':
        return this.clients.map((c) => ({
          name: c.name,
          inject: async () => c.client.dropConnection(),
        }));
    }
  }

  /** Services of a pool that may take a fault now: up, not busy, and not the last one standing. */
  private services(pool: ManagedService[]): ManagedService[] {
    const healthy = pool.filter((s) => s.up && !this.busy.has(s.name));
    return healthy.length >= 2 ? healthy : [];
  }

  private async bounce(s: ManagedService, sig: NodeJS.Signals, delayMs: number): Promise<void> {
    this.busy.add(s.name);
    await s.signal(sig);
    this.track(s.name, async () => {
      await sleep(delayMs);
      await s.start();
    });
  }

  private async freeze(s: ManagedService, delayMs: number): Promise<void> {
    this.busy.add(s.name);
    await s.signal('SIGSTOP');
    // Frozen past the ack deadline: its jobs go to another worker; when it wakes it must be fenced.
    this.track(s.name, async () => {
      await sleep(this.opts.ackWaitMs + delayMs);
      await s.signal('SIGCONT');
    });
  }

  private async bounceNats(i: number, delayMs: number): Promise<void> {
    const node = this.topology.nats.nodes[i]!;
    const name = `nats-${node.name}`;
    this.busy.add(name);
    await node.kill();
    this.track(name, async () => {
      await sleep(delayMs);
      await node.restart();
      await waitFor(() => this.topology.natsHealthy(i), {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: `${name} healthy`,
      });
    });
  }

  private track(name: string, fn: () => Promise<void>): void {
    this.background.push(
      fn()
        .catch((err: unknown) => {
          this.recoveryFailures.push(`${name}: ${String(err).slice(0, 300)}`);
          this.opts.log(`recovery of ${name} failed: ${String(err)}`);
        })
        .finally(() => this.busy.delete(name)),
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
