import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentFixture } from '../support/agent-fixture.js';
import { type RecordedRequest, reply, systemText } from '../support/scripted-model-server.js';

// The deployment names Claude Code's small fast model (on AWS, the one the
// worker's role may call on Bedrock): the real binary must use it, for its
// own background calls and for a subagent that asks for `haiku`.

const SUBAGENT_MARKER = 'You are the SMALL-FAST test subagent.';
const SMALL_FAST = 'claude-haiku-configured-small-fast';

describe('small fast model', () => {
  let fixture: AgentFixture;

  beforeAll(async () => {
    fixture = await AgentFixture.create({
      'system_prompt.md': 'You are TestBot.',
      'agents.json': JSON.stringify({
        helper: {
          description: 'Answers quick questions',
          prompt_file: 'agents/helper.md',
          tools: ['Read'],
          model: 'haiku',
        },
      }),
      'agents/helper.md': SUBAGENT_MARKER,
    });
  });

  afterAll(async () => {
    await fixture.close();
  });

  it('runs a haiku subagent on the configured model, and the main agent on its own', async () => {
    const isSubagent = (request: RecordedRequest) => systemText(request).includes(SUBAGENT_MARKER);
    fixture.model.enqueueFor(
      (request) => !isSubagent(request),
      reply.subagent('helper', 'What is 2 + 2?', 'Ask the helper'),
      reply.text('It is 4.'),
    );
    fixture.model.enqueueFor(isSubagent, reply.text('4'));

    const runtime = fixture.newRuntime({
      modelAccess: {
        provider: 'anthropic',
        apiKey: 'sk-test-upstream-key',
        baseUrl: fixture.model.url,
        smallFastModel: SMALL_FAST,
      },
    });
    const result = await runtime.runTurn({
      conversation: { tenant: 'test', channel: 'terminal', chatId: 'small-fast' },
      prompt: 'What is 2 + 2?',
    });

    expect(result).toMatchObject({ outcome: 'success', text: 'It is 4.' });
    const requests = fixture.model.messageRequests;
    const subagent = requests.find(isSubagent);
    expect(subagent?.body.model).toBe(SMALL_FAST);
    expect(requests.find((request) => !isSubagent(request))?.body.model).not.toBe(SMALL_FAST);
  });
});
