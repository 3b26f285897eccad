import { randomUUID } from 'node:crypto';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';

/**
 * An assistant message carrying one tool call, shaped like the SDK's (only
 * the fields progress display reads); `parent` marks a subagent's message.
 */
export function assistantToolUse(
  name: string,
  input: unknown,
  options: { id?: string; parent?: string } = {},
): SDKMessage {
  return {
    type: 'assistant',
    parent_tool_use_id: options.parent ?? null,
    uuid: randomUUID(),
    session_id: 'session-test',
    message: {
      role: 'assistant',
      content: [
        { type: 'tool_use', id: options.id ?? `toolu_${randomUUID()}`, name, input: input ?? {} },
      ],
    },
  } as unknown as SDKMessage;
}
