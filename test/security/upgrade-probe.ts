import { WebSocket } from 'ws';

export type UpgradeOutcome =
  | { opened: true; protocol: string; ws: WebSocket }
  | { opened: false; status: number; body: string; headers: Record<string, string | string[] | undefined> };

/**
 * Attempts a WebSocket upgrade and reports the HTTP refusal (status, body, headers) if any,
 * which `ws` otherwise hides behind a generic error.
 */
export function tryUpgrade(
  url: string,
  o: { protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, o.protocols ?? ['streamfabric.v1'], { headers: o.headers ?? {} });
    ws.once('open', () => resolve({ opened: true, protocol: ws.protocol, ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () =>
        resolve({ opened: false, status: res.statusCode ?? 0, body, headers: res.headers }),
      );
    });
    ws.once('error', (err) => reject(err));
  });
}

/** The typed error code in a refusal body (`{"error":{"code":...}}`). */
export function errorCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}
