import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../../shared/logging/logger.js';
import { AgentPoolStore } from '../../../shared/nats/agent-pools.js';
import type { JetStreamEventLog } from '../../../shared/nats/event-log.js';
import type { SessionRegistry } from '../../../shared/nats/session-registry.js';
import { retryStartupStep } from '../../../shared/nats/startup-retry.js';
import { partitionNames, workerConsumerName } from '../../../shared/nats/subjects.js';
import { AgentDirectory } from './agent-directory.js';
import { type AgentGate, directoryGate } from './agent-gate.js';
import { QueueTimeouts } from './queue-timeout.js';

export interface AgentWiring {
  directory: AgentDirectory;
  gate: AgentGate;
  /** Live workers of a declared agent; undefined for undeclared ones (for the session status). */
  liveWorkers: (agent: string) => number | undefined;
  close(): void;
}

/** The gateway's agent awareness (docs/agent-pools.md), wired once by gateway-app.ts. */
export async function createAgentGate(o: {
  nc: NatsConnection;
  eventLog: JetStreamEventLog;
  registry: SessionRegistry;
  heartbeatMs: number;
  queueTimeoutMs: number;
  writerId: string;
  log: Logger;
}): Promise<AgentWiring> {
  const jsm = await jetstreamManager(o.nc);
  const log = o.log.child({ component: 'agents' });
  const directory = await retryStartupStep(
    'open the agent directory',
    async () =>
      AgentDirectory.open(await AgentPoolStore.open(o.nc), {
        heartbeatMs: o.heartbeatMs,
        log,
        // A pool running a worker from before declarations existed still has its job consumer.
        hasJobConsumer: (agent) =>
          jsm.consumers.info(partitionNames()[0]!.jobsStream, workerConsumerName(agent)).then(
            () => true,
            (err: unknown) => {
              const name = (err as { name?: string }).name;
              if (name === 'ConsumerNotFoundError' || String(err).includes('consumer not found'))
                return false;
              throw err;
            },
          ),
      }),
    { log },
  );
  const timeouts = new QueueTimeouts({
    eventLog: o.eventLog,
    registry: o.registry,
    jsm,
    timeoutMs: o.queueTimeoutMs,
    writerId: o.writerId,
    log,
  });
  return {
    directory,
    gate: directoryGate(directory, timeouts),
    liveWorkers: (agent) => {
      const s = directory.get(agent);
      return s.known && s.declared ? s.liveWorkers : undefined;
    },
    close() {
      timeouts.close();
      directory.close();
    },
  };
}
