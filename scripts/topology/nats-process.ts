import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTool, NATS_SERVER } from '../tools/ensure-tool.js';
import { freePort } from './free-port.js';
import { waitFor } from './wait.js';

/** A nats-server process the project started itself (never a mock). */
export interface NatsNode {
  name: string;
  url: string;
  /** The address it listens on (client, cluster and monitoring ports). */
  host: string;
  port: number;
  monitorPort: number;
  storeDir: string;
  process: ChildProcess | null;
  /** SIGKILL: the broker dies without a goodbye. */
  kill(): Promise<void>;
  /** SIGTERM and wait for exit (lame-duck mode off: a plain clean shutdown). */
  stop(): Promise<void>;
  /** Starts the same node again on the same ports and store. */
  restart(): Promise<void>;
}

export interface NatsOptions {
  /** Base directory for store dirs (default: a new temp dir). */
  dataDir?: string;
  /** Number of nodes: 1 = standalone, 3 = a JetStream cluster. */
  nodes?: number;
  /** Print the server's log lines. */
  verbose?: boolean;
  host?: string;
  /** Fixed client port for the first node (default: a free one). */
  port?: number;
  /** Extra settings inside the `jetstream { }` block, e.g. `sync_interval: always`. */
  jetstreamExtra?: string;
  /** Per-node listen address (default `host` for every node), e.g. one node inside a network namespace. */
  nodeHosts?: string[];
  /** Per-node command prefix, e.g. `['ip', 'netns', 'exec', 'ns1']` (exec keeps the server's pid). */
  nodeCommand?: (index: number) => string[];
  /** Serve Go's pprof on this port of the first node (`prof_port`): CPU profiles of the broker. */
  profPort?: number;
}

export interface NatsCluster {
  nodes: NatsNode[];
  /** Comma-separated client URLs of every node. */
  urls: string;
  dataDir: string;
  /** The first node's pprof port, when `profPort` was given. */
  profPort?: number;
  stop(): Promise<void>;
}

function tcpReady(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

async function exited(p: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    p.once('exit', () => resolve());
    p.kill(signal);
  });
}

/** Starts a standalone nats-server or a cluster, with JetStream, on free loopback ports. */
export async function startNats(opts: NatsOptions = {}): Promise<NatsCluster> {
  const bin = ensureTool(NATS_SERVER);
  const host = opts.host ?? '127.0.0.1';
  const count = opts.nodes ?? 1;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sf-nats-'));
  const ownsDir = !opts.dataDir;
  const ports = await Promise.all(
    Array.from({ length: count }, async (_, i) => ({
      host: opts.nodeHosts?.[i] ?? host,
      client: i === 0 && opts.port ? opts.port : await freePort(host),
      cluster: await freePort(host),
      monitor: await freePort(host),
    })),
  );
  const nodes: NatsNode[] = ports.map((p, i) => {
    const name = `n${i + 1}`;
    const storeDir = join(dataDir, name);
    mkdirSync(storeDir, { recursive: true });
    const conf = join(dataDir, `${name}.conf`);
    const routes = ports.map((o) => `nats-route://${o.host}:${o.cluster}`).join(', ');
    writeFileSync(
      conf,
      [
        `server_name: ${name}`,
        `host: ${p.host}`,
        `port: ${p.client}`,
        `http_port: ${p.monitor}`,
        `max_payload: 8MB`,
        ...(i === 0 && opts.profPort ? [`prof_port: ${opts.profPort}`] : []),
        `jetstream { store_dir: "${storeDir}", max_memory_store: 1GB, max_file_store: 20GB${opts.jetstreamExtra ? `, ${opts.jetstreamExtra}` : ''} }`,
        ...(count > 1
          ? [`cluster { name: sf, host: ${p.host}, port: ${p.cluster}, routes: [${routes}] }`]
          : []),
      ].join('\n'),
    );
    const node: NatsNode = {
      name,
      host: p.host,
      url: `nats://${p.host}:${p.client}`,
      port: p.client,
      monitorPort: p.monitor,
      storeDir,
      process: null,
      async kill() {
        await exited(node.process, 'SIGKILL');
      },
      async stop() {
        await exited(node.process, 'SIGTERM');
      },
      async restart() {
        await exited(node.process, 'SIGKILL');
        launch();
        await waitFor(() => tcpReady(p.client, p.host), { timeoutMs: 20_000, what: `nats ${name} restart` });
      },
    };
    const launch = () => {
      const [cmd, ...args] = [...(opts.nodeCommand?.(i) ?? []), bin, '-c', conf];
      const child = spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const echo = (d: Buffer) => {
        if (opts.verbose) process.stderr.write(`[nats ${name}] ${d}`);
      };
      child.stdout?.on('data', echo);
      child.stderr?.on('data', echo);
      node.process = child;
    };
    launch();
    return node;
  });
  await Promise.all(
    nodes.map((n) =>
      waitFor(() => tcpReady(n.port, n.host), { timeoutMs: 20_000, what: `nats ${n.name} to listen` }),
    ),
  );
  if (count > 1) {
    // JetStream needs a meta leader that knows every peer before R3 streams can be placed
    // ("no suitable peers for placement" otherwise).
    await waitFor(
      async () => {
        // Only the meta leader lists its peers.
        for (const n of nodes) {
          const r = await fetch(`http://${n.host}:${n.monitorPort}/jsz`).catch(() => null);
          const j = r
            ? ((await r.json()) as { meta_cluster?: { replicas?: { current?: boolean }[] } })
            : null;
          const peers = j?.meta_cluster?.replicas ?? [];
          if (peers.length >= count - 1 && peers.every((p) => p.current)) return true;
        }
        return false;
      },
      { timeoutMs: 30_000, what: 'JetStream meta leader and peers' },
    );
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url).join(','),
    dataDir,
    ...(opts.profPort ? { profPort: opts.profPort } : {}),
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
