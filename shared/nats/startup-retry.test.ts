import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { provisionedNatsPerFile } from '../../test/harness/provisioned-nats.js';
import { createLogger } from '../logging/logger.js';
import { retryStartupStep } from './startup-retry.js';
import { EVENTS_STREAM } from './subjects.js';

// Real errors from a real nats-server: a refused config is thrown at once (no minutes of retries
// before a misconfigured service exits); the cluster-outage case is test/durability/startup-during-outage.
const server = provisionedNatsPerFile();

describe('retryStartupStep', () => {
  it('throws a refused stream config at the first try', async () => {
    const jsm = await jetstreamManager(server.nc);
    let tries = 0;
    const t0 = Date.now();
    const step = async () => {
      tries++;
      // A second stream over the EVENTS subjects: the server refuses overlapping subjects.
      const events = await jsm.streams.info(EVENTS_STREAM);
      return jsm.streams.add({ name: 'OVERLAP', subjects: events.config.subjects });
    };
    await expect(
      retryStartupStep('overlap', step, { log: createLogger({ name: 't', level: 'silent' }) }),
    ).rejects.toThrow(/overlap/i);
    expect(tries).toBe(1);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('retries a transient failure until it passes', async () => {
    let tries = 0;
    const value = await retryStartupStep(
      'flaky',
      async () => {
        if (++tries < 3) throw new Error('JetStream system temporarily unavailable');
        return 'ok';
      },
      { log: createLogger({ name: 't', level: 'silent' }), maxDelayMs: 10 },
    );
    expect({ value, tries }).toEqual({ value: 'ok', tries: 3 });
  });
});
