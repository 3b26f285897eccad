import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { conversationId } from '../../src/domain/conversation.js';
import type { Logger } from '../../src/ports/logger.js';
import { AgentFixture } from '../support/agent-fixture.js';
import {
  HTTP_BIG_TOOL,
  HTTP_MARKER,
  HTTP_TOOL,
  HttpTestMcpServer,
  STDIO_MARKER,
  STDIO_TOOL,
  stdioServerEntry,
} from '../support/mcp/mcp-test-servers.js';
import {
  type RecordedRequest,
  reply,
  requestText,
  systemText,
  toolResults,
} from '../support/scripted-model-server.js';

// Subagents, skills and MCP servers from the agent directory, through the
// real Claude Code binary. (Restoring a subagent's transcript on resume is
// proven in agent-runtime.e2e.test.ts.)

const SUBAGENT_MARKER = 'You are the AWS-SUPPORT test subagent.';
const SHIPPED_SKILL = new URL('../../agent/skills/hello-world/SKILL.md', import.meta.url);

let chat = 0;
const nextConversation = () => ({ tenant: 'test', channel: 'terminal', chatId: `ext-${++chat}` });

describe('subagents and skills', () => {
  let fixture: AgentFixture;

  beforeAll(async () => {
    fixture = await AgentFixture.create({
      'system_prompt.md': 'You are TestBot.',
      'agents.json': JSON.stringify({
        'aws-support': {
          description: 'Answers questions about Amazon Web Services',
          prompt_file: 'agents/aws-support.md',
          tools: ['Read'],
          model: 'haiku',
        },
      }),
      'agents/aws-support.md': SUBAGENT_MARKER,
      'skills/hello-world/SKILL.md': await readFile(SHIPPED_SKILL, 'utf8'),
    });
  });

  afterAll(async () => {
    await fixture.close();
  });

  afterEach(() => {
    fixture.model.reset();
  });

  it('offers the subagents, and runs one with its own prompt, tools and model', async () => {
    const conversation = nextConversation();
    const isSubagent = (request: RecordedRequest) => systemText(request).includes(SUBAGENT_MARKER);
    fixture.model.enqueueFor(
      (request) => !isSubagent(request),
      reply.subagent('aws-support', 'What is S3?', 'Ask AWS support'),
      reply.text('S3 stores objects.'),
    );
    fixture.model.enqueueFor(isSubagent, reply.text('S3 is object storage. SUBAGENT-ANSWER-7'));

    const result = await fixture.newRuntime().runTurn({ conversation, prompt: 'What is S3?' });

    expect(result).toMatchObject({ outcome: 'success', text: 'S3 stores objects.' });
    const [first, ...rest] = fixture.model.messageRequests;
    expect(first && requestText(first)).toContain(
      '- aws-support: Answers questions about Amazon Web Services',
    );
    const subagent = rest.find(isSubagent);
    expect(subagent, 'the subagent asked the model').toBeDefined();
    expect(subagent?.body.tools?.map((tool) => tool.name)).toEqual(['Read']);
    expect(subagent?.body.model).toMatch(/haiku/);
    expect(first?.body.model).not.toMatch(/haiku/);
    expect(subagent && requestText(subagent)).toContain('What is S3?');
    const back = toolResults(fixture.model.messageRequests.at(-1) as RecordedRequest);
    expect(back.map((entry) => entry.text).join('\n')).toContain('SUBAGENT-ANSWER-7');

    // The subagent's transcript is kept under the session, as a subkey.
    const record = await fixture.conversations.get(conversationId(conversation));
    const key = { projectKey: String(record?.projectKey), sessionId: String(record?.sessionId) };
    const [subkey, ...others] = await fixture.sessionStore.listSubkeys(key);
    expect(others).toEqual([]);
    const transcript = await fixture.sessionStore.load({ ...key, subpath: String(subkey) });
    expect(JSON.stringify(transcript)).toContain('SUBAGENT-ANSWER-7');
  });

  it("tells the model of the directory's skills only, and loads hello-world", async () => {
    const conversation = nextConversation();
    fixture.model.enqueue(
      reply.toolUse('Skill', { skill: 'agent:hello-world' }),
      reply.text('Hello! Skills load on demand.'),
    );

    const result = await fixture.newRuntime().runTurn({ conversation, prompt: 'Hello there' });

    expect(result).toMatchObject({ outcome: 'success', text: 'Hello! Skills load on demand.' });
    const [first, second] = fixture.model.messageRequests;
    expect(first && requestText(first)).toContain(
      '- agent:hello-world: Greets the user by name and explains briefly how skills work.',
    );
    // Claude Code's bundled skills are not offered in a chat.
    expect(first && requestText(first)).not.toMatch(/- (deep-research|update-config|doctor):/);
    expect(second && requestText(second)).toContain('Greet the user by name.');
  });
});

describe('MCP servers', () => {
  let http: HttpTestMcpServer;
  const fixtures: AgentFixture[] = [];
  const warnings: Array<Record<string, unknown>> = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn(message, ...extra) {
      warnings.push(Object.assign({ message }, ...extra));
    },
    error() {},
  };
  const unavailable = () =>
    warnings
      .filter(
        (warning) =>
          warning.message === 'MCP server unavailable; the turn goes on without its tools',
      )
      .map((warning) => [warning.server, warning.status]);

  async function fixtureWith(servers: Record<string, unknown>, policy: object = {}) {
    const fixture = await AgentFixture.create({
      'system_prompt.md': 'You are TestBot.',
      'mcp.json': JSON.stringify({ mcpServers: servers }),
      'policy.json': JSON.stringify(policy),
    });
    fixtures.push(fixture);
    return fixture;
  }

  beforeAll(async () => {
    http = await new HttpTestMcpServer().start();
  });

  afterAll(async () => {
    await Promise.all(fixtures.map((fixture) => fixture.close()));
    await http.stop();
  });

  afterEach(() => {
    warnings.length = 0;
  });

  it("lists both servers' tools, reaches each, and goes on without one that fails", async () => {
    const fixture = await fixtureWith({
      local: stdioServerEntry(),
      remote: { type: 'http', url: http.url },
      // One that cannot start, one that refuses connections.
      missing: { type: 'stdio', command: '/nonexistent/mcp-server' },
      refused: { type: 'http', url: 'http://127.0.0.1:9/mcp' },
    });
    fixture.model.enqueue(
      reply.toolUses([
        { name: `mcp__local__${STDIO_TOOL}`, input: { text: 'stressed' } },
        { name: `mcp__remote__${HTTP_TOOL}`, input: { key: 'colour' } },
      ]),
      reply.text('Both servers answered.'),
    );

    const result = await fixture
      .newRuntime({ logger })
      .runTurn({ conversation: nextConversation(), prompt: 'Use MCP' });

    expect(result).toMatchObject({ outcome: 'success', text: 'Both servers answered.' });
    const first = fixture.model.messageRequests[0];
    const listed = first ? requestText(first) + JSON.stringify(first.body.tools) : '';
    expect(listed).toContain(`mcp__local__${STDIO_TOOL}`);
    expect(listed).toContain(`mcp__remote__${HTTP_TOOL}`);

    const results = toolResults(fixture.model.messageRequests.at(-1) as RecordedRequest);
    expect(results.map((entry) => entry.text).sort()).toEqual([
      `${HTTP_MARKER}: value of colour`,
      `${STDIO_MARKER}: desserts`,
    ]);
    expect(results.every((entry) => !entry.isError)).toBe(true);
    expect(http.calls).toEqual([{ key: 'colour' }]);
    expect(unavailable().sort()).toEqual([
      ['missing', 'failed'],
      ['refused', 'failed'],
    ]);
    // With Claude Code's reason.
    const missing = warnings.find((warning) => warning.server === 'missing');
    expect(missing?.error).toMatch(/ENOENT/);
  });

  it('lets the model read back a result too large to hand it whole', async () => {
    const fixture = await fixtureWith({ remote: { type: 'http', url: http.url } });
    let saved = '';
    fixture.model.enqueue(
      reply.toolUse(`mcp__remote__${HTTP_BIG_TOOL}`, { lines: 20_000 }),
      // Claude Code saves the result to a file in the session's directory and says where.
      (request) => {
        const said = toolResults(request).at(-1)?.text ?? '';
        saved = /saved to (\S+\.txt)/.exec(said)?.[1] ?? '';
        return reply.toolUse('Read', { file_path: saved, offset: 1, limit: 3 });
      },
      reply.text('Read it.'),
    );

    const result = await fixture
      .newRuntime()
      .runTurn({ conversation: nextConversation(), prompt: 'Dump' });

    expect(result.outcome).toBe('success');
    expect(saved).toMatch(/\/tool-results\//);
    const read = toolResults(fixture.model.messageRequests.at(-1) as RecordedRequest).at(-1);
    expect(read).toMatchObject({ isError: false });
    expect(read?.text).toContain(`${HTTP_MARKER} line 2`);
  });

  it('goes on without a server that never answers, once the connect timeout passes', async () => {
    const fixture = await fixtureWith(
      {
        silent: {
          type: 'stdio',
          command: process.execPath,
          args: ['-e', 'setInterval(() => {}, 1e3)'],
        },
      },
      { mcpConnectTimeoutMs: 1_000 },
    );
    fixture.model.enqueue(reply.text('Answered without it.'));

    const result = await fixture
      .newRuntime({ logger })
      .runTurn({ conversation: nextConversation(), prompt: 'Hello' });

    expect(result).toMatchObject({ outcome: 'success', text: 'Answered without it.' });
    // Still connecting when the turn began, or given up on by then on a slow machine.
    expect(unavailable()).toEqual([['silent', expect.stringMatching(/^(pending|failed)$/)]]);
  });
});
