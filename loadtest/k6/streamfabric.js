// StreamFabric load scenarios for k6 (>= 1.0, stable `k6/websockets`). These scripts were
// written for users who have k6; they were NOT run in this repository (k6 is not available on
// the project's machines; the benchmark runner uses the Node load client in loadtest/node/).
//
//   k6 run -e SF_URL=ws://127.0.0.1:8080/v1/ws loadtest/k6/streamfabric.js            # all scenarios
//   k6 run -e SCENARIOS=steady -e STREAMS=1000 loadtest/k6/streamfabric.js             # one of them
//
// Env: SF_URL, STREAMS (steady size, default 1000), RAMP_TO (default 10000), SF_TPS (50),
// SF_FLUSH_MS (100), SF_LENGTH (400 tokens), SCENARIOS (comma list).
// Thresholds encode the project's targets (docs/benchmarks.md).
import { runStreams } from './lib/stream.js';

const STREAMS = Number(__ENV.STREAMS || 1000);
const RAMP_TO = Number(__ENV.RAMP_TO || 10000);

const all = {
  // N concurrent streams held for 2 minutes.
  steady: {
    executor: 'constant-vus',
    vus: STREAMS,
    duration: '2m',
    exec: 'steady',
    gracefulStop: '30s',
  },
  // Up to RAMP_TO streams in steps, to find the knee.
  ramp: {
    executor: 'ramping-vus',
    startVUs: 0,
    stages: [
      { duration: '30s', target: Math.round(RAMP_TO / 10) },
      { duration: '30s', target: Math.round(RAMP_TO / 2) },
      { duration: '60s', target: RAMP_TO },
      { duration: '60s', target: RAMP_TO },
    ],
    exec: 'steady',
    startTime: '2m30s',
    gracefulStop: '30s',
  },
  // Every stream drops its socket at about the same moment and resumes on a new one.
  reconnect_storm: {
    executor: 'per-vu-iterations',
    vus: Math.round(STREAMS / 2),
    iterations: 1,
    exec: 'reconnectStorm',
    startTime: '7m',
    maxDuration: '2m',
  },
  // A few readers that cannot keep up, next to normal ones: no loss, others unaffected.
  slow_readers: {
    executor: 'constant-vus',
    vus: Math.max(1, Math.round(STREAMS / 20)),
    duration: '1m',
    exec: 'slowReader',
    startTime: '9m30s',
  },
};

const wanted = (__ENV.SCENARIOS || Object.keys(all).join(',')).split(',');
const scenarios = {};
let offset = null;
for (const name of Object.keys(all)) {
  if (!wanted.includes(name)) continue;
  const s = { ...all[name] };
  // A scenario run alone starts at once.
  if (offset === null) {
    offset = s.startTime || '0s';
    delete s.startTime;
  }
  scenarios[name] = s;
}

export const options = {
  scenarios,
  thresholds: {
    // 10,000 streams: p99 < 200 ms; 1,000 streams: p99 < 50 ms (run `-e SCENARIOS=steady -e STREAMS=1000`).
    'sf_event_latency{scenario:steady}': [`p(99)<${STREAMS <= 1000 ? 50 : 200}`],
    'sf_event_latency{scenario:ramp}': ['p(99)<200'],
    // Built-in model, zero think time: the fabric adds < 25 ms to the first token.
    sf_ttft: ['p(99)<25'],
    // First missed event after a resume, at 1,000 streams.
    sf_resume_latency: ['p(99)<50'],
    sf_lost: ['count==0'],
    sf_duplicated: ['count==0'],
    sf_reordered: ['count==0'],
    sf_request_errors: ['count==0'],
  },
};

export function steady() {
  runStreams({ seconds: 60 });
}

export function reconnectStorm() {
  runStreams({ seconds: 30, dropAfterMs: 5000, gapMs: 500 });
}

export function slowReader() {
  runStreams({ seconds: 50, readDelayMs: 40 });
}
