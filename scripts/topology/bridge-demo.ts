/**
 * The answers of the bridge's deterministic demo agents (bridges/autogen/src/streamfabric_autogen/
 * demo.py), for checkers that compare a bridge's output with what it must be (the chaos runner,
 * the conformance suite). A mirror of Python code: test/autogen/bridge-contract.test.ts fails
 * when the two drift apart.
 */
const WORDS = (
  'tokens stream through the fabric in order and every client can prove it holds each one ' +
  'because seq is contiguous so a resume on any gateway never loses or repeats a word'
).split(' ');

/** demo.py's `demo_text`: the answer `agent` gives to `task` (`length` words) in `round`. */
export function demoText(agent: string, task: string, length: number, round = 0): string {
  let seed = 0;
  for (const ch of `${agent}|${task}|${round}`) seed += ch.codePointAt(0)!;
  return Array.from({ length: Math.max(1, length) }, (_, i) => WORDS[(seed + i * 7) % WORDS.length]).join(
    ' ',
  );
}
