import { execFileSync } from 'node:child_process';
import type { UIMessage } from 'ai';
import { venvPython } from '../../scripts/topology/bridge-process.js';
import { repoRoot } from '../../scripts/topology/service-process.js';

/** An in-memory Web Storage (what a tab's sessionStorage is, without a browser). */
export class MemoryStorage {
  private readonly m = new Map<string, string>();
  getItem(k: string): string | null {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    this.m.set(k, v);
  }
  removeItem(k: string): void {
    this.m.delete(k);
  }
}

/** The text parts of a UI message, each with the agent named in its provider metadata. */
export function textParts(m: UIMessage | undefined): { agent: string | undefined; text: string }[] {
  return (m?.parts ?? []).flatMap((p) =>
    p.type === 'text'
      ? [{ agent: (p.providerMetadata?.streamfabric as { agent?: string } | undefined)?.agent, text: p.text }]
      : [],
  );
}

/** All the text of a UI message. */
export function messageText(m: UIMessage | undefined): string {
  return textParts(m)
    .map((p) => p.text)
    .join('');
}

/**
 * What the AutoGen demo team (`streamfabric_autogen.demo:team`) says for `task`: writer, critic,
 * writer, critic, each `length` words, from the demo's own scripted model (computed by its Python).
 */
export function autogenTeamSpeeches(task: string, length: number): { agent: string; text: string }[] {
  const script = [
    'import json, sys',
    'from streamfabric_autogen.demo import demo_text',
    'task, n = sys.argv[1], int(sys.argv[2])',
    'print(json.dumps([{"agent": a, "text": demo_text(a, task, n, r)} for r in range(2) for a in ("writer", "critic")]))',
  ].join('\n');
  const out = execFileSync(venvPython(), ['-c', script, task, String(length)], { cwd: repoRoot() });
  return JSON.parse(out.toString()) as { agent: string; text: string }[];
}
