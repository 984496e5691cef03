import { SignJWT } from 'jose';

/** The origin the fuzzed gateway allows (every other origin must get 403). */
export const FUZZ_ORIGIN = 'https://app.example.com';
/** An agent no worker serves: a fuzzed `start` that passes validation queues a job that never runs. */
export const FUZZ_AGENT = 'fuzz-none';

/** Gateway settings for a fuzz run: JWT auth on, origins restricted, rate limit out of the way. */
export function fuzzGatewayEnv(secret: string): Record<string, string> {
  return {
    AUTH_MODE: 'jwt',
    AUTH_JWT_SECRET: secret,
    CORS_ORIGINS: FUZZ_ORIGIN,
    // The rate limiter has its own tests; here it would only answer most inputs with rate_limited.
    RATE_LIMIT_FRAMES_PER_SECOND: '100000',
    RATE_LIMIT_BURST: '100000',
  };
}

/** The two tokens of a run: a fuzzer confined to {@link FUZZ_AGENT}, and a healthy user. */
export async function fuzzTokens(secret: string): Promise<{ fuzzToken: string; healthyToken: string }> {
  const key = new TextEncoder().encode(secret);
  const sign = (sub: string, extra: Record<string, unknown>) =>
    new SignJWT({ tenant: 'fuzz', ...extra })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setExpirationTime('4h')
      .sign(key);
  return {
    fuzzToken: await sign('fuzzer', { agents: [FUZZ_AGENT] }),
    healthyToken: await sign('healthy', {}),
  };
}
