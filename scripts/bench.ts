import { parseBenchArgs } from '../loadtest/bench/bench-options.js';
import { kneeLine, runBench } from '../loadtest/bench/run-bench.js';

/**
 * `npm run bench [-- --quick | --steps 100,1000 | --targets fabric | --profile ...]`: starts
 * the topology, loads it at each concurrent-stream step with the Node load client, runs the
 * Socket.IO, raw uWS and Centrifugo 6 peers the same way, writes bench/results/<date>-<name>.{json,md,svg}
 * and prints the knee on the last line.
 */
async function main(): Promise<void> {
  const opts = parseBenchArgs(process.argv.slice(2));
  const { result, files } = await runBench(opts);
  process.stdout.write(`${files.map((f) => `wrote ${f}`).join('\n')}\n`);
  process.stdout.write(`${kneeLine(result)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
