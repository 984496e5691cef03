import type OpenAI from 'openai';
import { assistantText, type ConversationTurn } from '../../../shared/protocol/index.js';

type Message = OpenAI.Chat.ChatCompletionMessageParam;

/** Name of the built-in tool through which a model asks the user (human in the loop). */
export const ASK_USER_TOOL = 'ask_user';

/** The `ask_user` tool definition offered to the model when OPENAI_ASK_USER_TOOL is on. */
export const askUserTool: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: {
    name: ASK_USER_TOOL,
    description:
      'Ask the user a question and wait for the answer. Use it when you need information only the user has.',
    parameters: {
      type: 'object',
      properties: {
        question: { type: 'string', description: 'The question to show the user.' },
        options: {
          type: 'array',
          items: { type: 'string' },
          description: 'Optional answers to choose from.',
        },
      },
      required: ['question'],
    },
  },
};

/**
 * The chat messages for a turn: system prompt, the conversation so far (rebuilt from the
 * session's log: each turn's user message, the questions asked and answers given, and the
 * agent's reply), then this turn's user message.
 */
export function conversationMessages(
  system: string | undefined,
  history: ConversationTurn[],
  input: string,
): Message[] {
  const out: Message[] = system ? [{ role: 'system', content: system }] : [];
  for (const t of history) {
    out.push({ role: 'user', content: t.user });
    for (const q of t.inputs) {
      if (q.answer === undefined) continue;
      out.push({ role: 'assistant', content: `(asked the user) ${q.prompt}` });
      out.push({ role: 'user', content: q.answer });
    }
    const reply = assistantText(t);
    if (reply) out.push({ role: 'assistant', content: reply });
  }
  out.push({ role: 'user', content: input });
  return out;
}
