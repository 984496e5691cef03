import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/**
 * `.data/fabric.json`: where the fabric `npm start` runs can be reached, so `npm run agent`
 * (and any tool) finds its NATS URL, which is on a random port, without copying it by hand.
 */
export const FabricFile = z.object({
  v: z.literal(1),
  natsUrl: z.string(),
  /** The gateway's base URL (pages, /v1/chat/completions for the demo agents' model). */
  gatewayUrl: z.string(),
  /** The `npm start` process: the file is stale once it is gone. */
  pid: z.number().int(),
  startedAt: z.number(),
});
export type FabricFile = z.infer<typeof FabricFile>;

/** The data directory `npm start` uses (STREAMFABRIC_DATA_DIR, default .data/). */
export function dataDir(): string {
  return resolve(process.env.STREAMFABRIC_DATA_DIR ?? '.data');
}

export function fabricFilePath(dir = dataDir()): string {
  return join(dir, 'fabric.json');
}

export function writeFabricFile(f: FabricFile, dir = dataDir()): void {
  writeFileSync(fabricFilePath(dir), `${JSON.stringify(f, null, 2)}\n`);
}

export function removeFabricFile(dir = dataDir()): void {
  rmSync(fabricFilePath(dir), { force: true });
}

/** The running fabric, or a sentence saying why there is none. */
export function readFabricFile(dir = dataDir()): FabricFile | string {
  const path = fabricFilePath(dir);
  if (!existsSync(path)) return `no running fabric found (${path} is missing): start one with npm start`;
  let parsed: ReturnType<typeof FabricFile.safeParse>;
  try {
    parsed = FabricFile.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return `${path} is not valid JSON: start the fabric again with npm start`;
  }
  if (!parsed.success) return `${path} is not a fabric file: start the fabric again with npm start`;
  try {
    process.kill(parsed.data.pid, 0);
  } catch {
    return `the fabric in ${path} (pid ${parsed.data.pid}) is no longer running: start one with npm start`;
  }
  return parsed.data;
}
