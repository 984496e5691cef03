import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { HttpRequestInfo, HttpResult } from '../transport/connection.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Serves files under `root` for a URL prefix, refusing any path that escapes the root. */
export function staticFiles(prefix: string, root: string) {
  return async (req: HttpRequestInfo): Promise<HttpResult> => {
    let rel: string;
    try {
      rel = decodeURIComponent(req.path.slice(prefix.length)).replace(/^\/+/, '');
    } catch {
      // Malformed percent-encoding (`%`, `%ff`): a bad request, not a server error.
      return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'bad path encoding' };
    }
    const file = normalize(join(root, rel));
    if (!file.startsWith(normalize(root) + sep)) return { status: 404, body: 'not found' };
    try {
      const body = await readFile(file);
      return {
        status: 200,
        headers: {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          'cache-control': 'no-cache',
        },
        body,
      };
    } catch {
      return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' };
    }
  };
}
