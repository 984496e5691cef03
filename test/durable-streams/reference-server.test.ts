import { DurableStreamTestServer } from '@durable-streams/server';
import { runConformanceTests } from '@durable-streams/server-conformance-tests';
import { afterAll, beforeAll, describe } from 'vitest';

// The protocol's own reference server (in memory) under the same pinned suite, for comparison with
// the gateway's result. Opt-in (DS_MEASURE_REFERENCE=1): it measures a third-party server, not ours.
const measure = process.env.DS_MEASURE_REFERENCE === '1';

describe.skipIf(!measure)('durable streams - reference server 0.3.7 under suite 0.3.6', () => {
  const config = { baseUrl: '', longPollTimeoutMs: 3_000 };
  const server = new DurableStreamTestServer({ port: 0, host: '127.0.0.1', longPollTimeout: 3_000 });
  beforeAll(async () => {
    config.baseUrl = await server.start();
  });
  afterAll(async () => {
    await server.stop();
  });
  runConformanceTests(config);
});
