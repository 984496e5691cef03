import { LoadCommand, LoadProfileSchema } from './ipc.js';
import { LoadClient } from './load-client.js';

/**
 * A load-client process, driven by the bench runner over the IPC channel: the profile comes in
 * the LOAD_PROFILE env var (JSON), commands arrive as messages, each answered with `{id, result}`.
 */
const profile = LoadProfileSchema.parse(JSON.parse(process.env.LOAD_PROFILE ?? '{}'));
const client = new LoadClient(profile);

async function run(c: LoadCommand): Promise<unknown> {
  switch (c.cmd) {
    case 'streams':
      return client.setStreams(c.n);
    case 'idle':
      return client.openIdle(c.n, c.thinkMs);
    case 'closeIdle':
      client.closeIdle();
      return {};
    case 'reset':
      client.resetWindow();
      return {};
    case 'report':
      return client.report();
    case 'reconnect':
      return client.reconnectStorm(c.fraction, c.gapMs, c.timeoutMs);
    case 'drain':
      return client.drain(c.timeoutMs);
    case 'exit':
      client.closeAll();
      setTimeout(() => process.exit(0), 200);
      return {};
  }
}

process.on('message', (raw) => {
  const parsed = LoadCommand.safeParse(raw);
  if (!parsed.success) {
    process.send?.({ id: -1, error: `bad command: ${parsed.error.issues[0]?.message}` });
    return;
  }
  run(parsed.data).then(
    (result) => process.send?.({ id: parsed.data.id, result }),
    (err: unknown) => process.send?.({ id: parsed.data.id, error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ id: 0, result: 'ready' });
