import { toJsonSchemas } from '../shared/protocol/json-schema.js';

/**
 * Where the generated JSON Schema files live, relative to the repo root: the protocol's own
 * folder (for any other-language client) and a copy shipped inside the AutoGen bridge's Python
 * package (a wheel cannot reach outside its source tree).
 */
export const SCHEMA_DIRS = ['shared/protocol/schema', 'bridges/autogen/src/streamfabric_autogen/schema'];

/**
 * Renders every exported protocol schema as `<name>.json` text, byte for byte what
 * `npm run schemas` writes, so a test can tell when the committed files are stale.
 */
export function renderSchemaFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, schema] of Object.entries(toJsonSchemas())) {
    files[`${name}.json`] = `${JSON.stringify(schema, null, 2)}\n`;
  }
  return files;
}
