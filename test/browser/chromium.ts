import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { ensureAptTools } from '../../scripts/tools/ensure-apt.js';

/** Where screenshots go (git-ignored). */
export const RESULTS_DIR = resolve('test-results');

/** Debian's Chromium driven by playwright-core (never a downloaded browser), in a fresh profile. */
export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
  screenshot(page: import('playwright-core').Page, name: string): Promise<string>;
}

export async function launchChromium(viewport = { width: 1100, height: 760 }): Promise<TestBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'sf-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    // Debian's Chromium, installed on first use when missing (never a downloaded browser build).
    executablePath:
      process.env.CHROMIUM_PATH ?? ensureAptTools([{ bin: 'chromium', pkg: 'chromium' }]).chromium!,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    viewport,
  });
  mkdirSync(RESULTS_DIR, { recursive: true });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
    async screenshot(page, name) {
      const path = join(RESULTS_DIR, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
  };
}

export type { Browser };
