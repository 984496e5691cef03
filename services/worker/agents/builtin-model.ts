/**
 * The built-in deterministic model: realistic-looking text from a seed, so that the same
 * seed always yields the same tokens. It is the default agent (no API key needed) and lets
 * tests and benchmarks check every byte that reaches a client.
 */

const SUBJECTS = [
  'The stream',
  'A gateway',
  'Each worker',
  'The broker',
  'Every client',
  'The log',
  'This session',
  'A reconnecting browser',
  'The agent',
  'Our fabric',
  'The cluster',
  'A durable consumer',
];
const VERBS = [
  'delivers',
  'replays',
  'orders',
  'persists',
  'acknowledges',
  'forwards',
  'recovers',
  'buffers',
  'publishes',
  'resumes',
  'coalesces',
  'fences',
  'observes',
  'balances',
];
const OBJECTS = [
  'every token',
  'the missing events',
  'each sequence number',
  'the final answer',
  'a partial reply',
  'the conversation',
  'all pending work',
  'the latest message',
  'live updates',
  'the retained history',
];
const TAILS = [
  'without a gap',
  'in order',
  'exactly once',
  'after a reconnect',
  'across gateways',
  'under load',
  'within milliseconds',
  'when a node fails',
  'for every tenant',
  'as the model speaks',
];

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG (deterministic across platforms). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

/**
 * The model's tokens for a seed: `length` tokens, each a word with its leading space (the
 * first without), sentences ending with punctuation. Token i is the same for any `length` >= i.
 */
export function builtinTokens(seed: number, length: number, leadingSpace = false): string[] {
  const rand = prng(seed);
  const out: string[] = [];
  while (out.length < length) {
    const sentence = `${pick(rand, SUBJECTS)} ${pick(rand, VERBS)} ${pick(rand, OBJECTS)} ${pick(rand, TAILS)}${rand() < 0.2 ? '!' : '.'}`;
    for (const word of sentence.split(' ')) {
      if (out.length >= length) break;
      out.push(out.length === 0 && !leadingSpace ? word : ` ${word}`);
    }
  }
  return out;
}

/** The full answer text for a seed (what a client must end up with). */
export function builtinText(seed: number, length: number): string {
  return builtinTokens(seed, length).join('');
}

/** A stable default seed derived from the prompt, so a prompt without a seed is still deterministic. */
export function seedFromInput(input: string): number {
  let h = 2166136261;
  for (let i = 0; i < input.length; i++) {
    h ^= input.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** Tokens that acknowledge the user's answer to the built-in model's question. */
export function answerPrefixTokens(answer: string): string[] {
  return ['You', ' answered', ` "${answer}".`];
}

/** The full answer text when the built-in model asked the user first and got `answer`. */
export function builtinAnswerText(answer: string, seed: number, length: number): string {
  return [...answerPrefixTokens(answer), ...builtinTokens(seed, length, true)].join('');
}
