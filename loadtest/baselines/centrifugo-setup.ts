/**
 * How the benchmark sets Centrifugo up: the way a user building LLM streaming on it would.
 * One channel per session in the `llm` namespace, with a history stream (every coalesced event
 * kept for the session's life) and recovery forced, so a client that reconnects gets what it
 * missed from history; `force_positioning` makes the server detect and report gaps. Clients
 * connect with an HMAC JWT (what the app's backend would issue) and may subscribe to `llm:*`.
 * The engine is Centrifugo's default memory engine: a single node, as in the benchmark.
 *
 * These are benchmark-only constants (a local process on 127.0.0.1), not secrets.
 */
export const CENTRIFUGO_HMAC_SECRET = 'streamfabric-bench-centrifugo-hmac';
export const CENTRIFUGO_API_KEY = 'streamfabric-bench-centrifugo-api';
export const CENTRIFUGO_NAMESPACE = 'llm';

/** The channel of one session. */
export const sessionChannel = (sid: string) => `${CENTRIFUGO_NAMESPACE}:${sid}`;

/** Centrifugo v6 configuration (JSON; keys from `centrifugo defaultconfig` of v6.9.1). */
export function centrifugoConfig(port: number): Record<string, unknown> {
  return {
    http_server: { address: '127.0.0.1', port },
    log: { level: 'error' },
    client: {
      token: { hmac_secret_key: CENTRIFUGO_HMAC_SECRET },
      // The Node load client sends no Origin header; browsers would be limited to the app's origin.
      allowed_origins: ['*'],
    },
    http_api: { key: CENTRIFUGO_API_KEY },
    channel: {
      namespaces: [
        {
          name: CENTRIFUGO_NAMESPACE,
          // A session is ~80-130 events at 50 tokens/s coalesced per 100 ms; keep all of them.
          history_size: 1000,
          history_ttl: '300s',
          force_recovery: true,
          force_positioning: true,
          allow_subscribe_for_client: true,
        },
      ],
    },
  };
}
