import { defineConfig } from 'vitest/config';

// Cross-process tests start real nats-servers, gateways and workers: run files in two
// forks (2 cores), with generous timeouts for slow shared machines.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'bridges/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
