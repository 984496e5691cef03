import { spawn } from 'node:child_process';
import { readFabricFile } from './start/fabric-file.js';
import { ensurePython } from './topology/bridge-process.js';
import { repoRoot } from './topology/service-process.js';

/**
 * `npm run agent -- module:build --agent NAME [bridge flags]`: runs the AutoGen bridge
 * (`python -m streamfabric_autogen`) against the fabric `npm start` is running, found through
 * .data/fabric.json (NATS_URL in the environment wins). Its model settings for the demos point at
 * that fabric's gateway, so a builder written like the demos needs no API key.
 */
function main(): void {
  const args = process.argv.slice(2);
  if (args.length === 0 || args.includes('--help') || args.includes('-h')) {
    process.stderr.write(
      'usage: npm run agent -- module:build --agent NAME [more bridge flags]\n' +
        '  runs python -m streamfabric_autogen against the fabric npm start is running (NATS_URL overrides)\n',
    );
    process.exit(args.length === 0 ? 2 : 0);
  }
  const fabric = readFabricFile();
  const natsUrl = process.env.NATS_URL ?? (typeof fabric === 'string' ? undefined : fabric.natsUrl);
  if (!natsUrl) {
    process.stderr.write(`[streamfabric] ${fabric as string}, or set NATS_URL\n`);
    process.exit(1);
  }
  const gatewayEnv =
    typeof fabric === 'string'
      ? {}
      : {
          STREAMFABRIC_DEMO_OPENAI_BASE_URL:
            process.env.STREAMFABRIC_DEMO_OPENAI_BASE_URL ?? `${fabric.gatewayUrl}/v1`,
          STREAMFABRIC_DEMO_OPENAI_MODEL: process.env.STREAMFABRIC_DEMO_OPENAI_MODEL ?? 'builtin',
          STREAMFABRIC_DEMO_OPENAI_API_KEY: process.env.STREAMFABRIC_DEMO_OPENAI_API_KEY ?? 'none',
        };
  let python: string;
  try {
    python = ensurePython();
  } catch (err) {
    process.stderr.write(`[streamfabric] ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.stderr.write(
    `[streamfabric] bridge on ${natsUrl}: python -m streamfabric_autogen ${args.join(' ')}\n`,
  );
  const child = spawn(python, ['-m', 'streamfabric_autogen', ...args], {
    cwd: process.cwd(),
    env: { ...process.env, ...gatewayEnv, NATS_URL: natsUrl, PYTHONPATH: pythonPath() },
    stdio: 'inherit',
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/** The caller's directory first, so `my_module:build` resolves where the user runs the command. */
function pythonPath(): string {
  return [process.cwd(), process.env.PYTHONPATH].filter(Boolean).join(':') || repoRoot();
}

main();
