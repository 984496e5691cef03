import { runConformanceTests } from '@durable-streams/server-conformance-tests';
import { afterAll, beforeAll, describe } from 'vitest';
import { startFabric, type TestFabric } from '../harness/fabric.js';

// The official Durable Streams conformance suite (pinned in package.json), as published, against
// a real gateway on a real nats-server. Anonymous dev auth, as every other fabric test runs; a
// short long-poll keeps the suite's waits short (the suite's own timeout is this plus 1 s).
const LONG_POLL_MS = 2_000;

describe('durable streams - conformance suite against a gateway on JetStream', () => {
  const config = { baseUrl: '', longPollTimeoutMs: LONG_POLL_MS + 1_000 };
  let fabric: TestFabric;
  beforeAll(async () => {
    fabric = await startFabric({
      gateways: 1,
      workers: 0,
      // The suite's CORS checks come from https://example.com: an origin the operator allowed.
      gatewayEnv: {
        DURABLE_STREAMS_LONG_POLL_MS: String(LONG_POLL_MS),
        CORS_ORIGINS: 'self,loopback,https://example.com',
      },
    });
    config.baseUrl = fabric.httpUrl(0);
  });
  afterAll(async () => {
    await fabric?.stop();
  });
  runConformanceTests(config);
});
