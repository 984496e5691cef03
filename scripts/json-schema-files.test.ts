import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderSchemaFiles, SCHEMA_DIRS } from './json-schema-files.js';
import { repoRoot } from './topology/service-process.js';

describe('json schema files - committed copies match the zod protocol', () => {
  const files = renderSchemaFiles();

  it('exports the session event, job, control message, session record, agent pool and conversation snapshot schemas', () => {
    expect(Object.keys(files).sort()).toEqual(
      [
        'agent-list.json',
        'agent-live-worker.json',
        'agent-pool-declaration.json',
        'client-frame.json',
        'control-message.json',
        'conversation-snapshot.json',
        'job.json',
        'server-frame.json',
        'session-event.json',
        'session-record.json',
      ].sort(),
    );
  });

  for (const dir of SCHEMA_DIRS) {
    it(`${dir}/ is up to date (run \`npm run schemas\` and commit when this fails)`, () => {
      for (const [name, text] of Object.entries(files)) {
        let committed = '';
        try {
          committed = readFileSync(join(repoRoot(), dir, name), 'utf8');
        } catch {
          throw new Error(`${dir}/${name} is missing: run \`npm run schemas\``);
        }
        expect(committed, `${dir}/${name} is stale: run \`npm run schemas\``).toBe(text);
      }
    });
  }
});
