import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { workspacePath } from '../../src/core/agent/workspace.js';
import type { ConversationRef } from '../../src/domain/conversation.js';
import { AgentFixture } from '../support/agent-fixture.js';
import {
  type RecordedRequest,
  reply,
  systemText,
  toolResultsById,
} from '../support/scripted-model-server.js';

// The default tool policy (no policy.json), enforced on the real Claude Code
// binary: what the model may do with files, the shell and the web, and what
// it is told when a call is refused.

const SUBAGENT_MARKER = 'You are the POLICY test subagent.';

let fixture: AgentFixture;
let chat = 0;
const nextConversation = (): ConversationRef => ({
  tenant: 'test',
  channel: 'terminal',
  chatId: `policy-${++chat}`,
});

beforeAll(async () => {
  fixture = await AgentFixture.create({
    'system_prompt.md': 'You are TestBot.',
    'agents.json': JSON.stringify({
      reader: { description: 'Reads files', prompt_file: 'reader.md', tools: ['Read'] },
    }),
    'reader.md': SUBAGENT_MARKER,
  });
});

afterAll(async () => {
  await fixture.close();
});

afterEach(() => {
  fixture.model.reset();
});

describe('tool policy (defaults)', () => {
  it('confines file tools to the working directory, keeps the shell off, and tells the model why', async () => {
    const conversation = nextConversation();
    const workspace = workspacePath(fixture.workspaceRoot, conversation);
    const neighbour = workspacePath(fixture.workspaceRoot, nextConversation());
    const secretFile = path.join(fixture.root, 'outside.txt');
    const planted = path.join(fixture.root, 'escape.txt');
    await mkdir(workspace, { recursive: true });
    await mkdir(neighbour, { recursive: true });
    await writeFile(path.join(neighbour, 'diary.txt'), 'NEIGHBOUR-DIARY');
    await writeFile(secretFile, 'OUTSIDE-FILE-CONTENT');
    await symlink(secretFile, path.join(workspace, 'shortcut.txt'));

    fixture.model.enqueue(
      reply.toolCalls([
        ['toolu_write', 'Write', { file_path: 'notes.txt', content: 'NOTE-INSIDE' }],
        ['toolu_escape', 'Write', { file_path: planted, content: 'planted' }],
        ['toolu_up', 'Read', { file_path: '../../../../outside.txt' }],
        ['toolu_link', 'Read', { file_path: 'shortcut.txt' }],
        ['toolu_etc', 'Read', { file_path: '/etc/hostname' }],
        ['toolu_proc', 'Read', { file_path: '/proc/self/status' }],
        ['toolu_glob', 'Glob', { pattern: '*', path: neighbour }],
        ['toolu_shell', 'Bash', { command: 'ls' }],
        ['toolu_fetch', 'WebFetch', { url: `${fixture.model.url}/v1/models`, prompt: 'read it' }],
      ]),
      reply.toolCalls([['toolu_read', 'Read', { file_path: path.join(workspace, 'notes.txt') }]]),
      reply.text('Done.'),
    );

    const result = await fixture.newRuntime().runTurn({ conversation, prompt: 'Try everything' });

    expect(result.outcome).toBe('success');
    const first = toolResultsById(fixture.model.messageRequests.slice(0, 2).at(-1));
    expect(first.get('toolu_write')?.isError).toBe(false);
    expect(await readFile(path.join(workspace, 'notes.txt'), 'utf8')).toBe('NOTE-INSIDE');

    const reasons: Record<string, RegExp> = {
      toolu_escape: /escape\.txt" is outside the conversation's working directory/,
      // Claude Code resolves `..` before asking; either way the file is outside.
      toolu_up: /outside\.txt" is outside the conversation's working directory/,
      toolu_link: /shortcut\.txt" leads outside .* through a symbolic link/,
      toolu_etc: /"\/etc\/hostname" is outside/,
      toolu_glob: /is outside the conversation's working directory/,
      toolu_fetch: /127\.0\.0\.1 is a local or private address/,
    };
    for (const [id, reason] of Object.entries(reasons)) {
      const denied = first.get(id);
      expect(denied?.isError, id).toBe(true);
      expect(denied?.text, id).toMatch(reason);
      expect(denied?.text, id).toContain("Denied by the agent's tool policy");
    }
    // Claude Code refuses /proc itself, before the policy is asked; refused either way.
    expect(first.get('toolu_proc')).toMatchObject({ isError: true });
    expect(first.get('toolu_proc')?.text).toMatch(/Cannot read '\/proc\/self\/status'|is outside/);
    // The shell is not even offered by default.
    expect(first.get('toolu_shell')).toMatchObject({ isError: true });
    expect(first.get('toolu_shell')?.text).toMatch(/No such tool available: Bash/);
    expect(fixture.model.messageRequests[0]?.body.tools?.map((tool) => tool.name)).not.toContain(
      'Bash',
    );

    expect(existsSync(planted)).toBe(false);
    const everything = JSON.stringify(fixture.model.requests.map((request) => request.body));
    expect(everything).not.toContain('OUTSIDE-FILE-CONTENT');
    expect(everything).not.toContain('NEIGHBOUR-DIARY');

    const second = toolResultsById(fixture.model.messageRequests.at(-1));
    expect(second.get('toolu_read')).toMatchObject({ isError: false });
    expect(second.get('toolu_read')?.text).toContain('NOTE-INSIDE');
  });

  it("polices a subagent's tool calls the same way", async () => {
    const conversation = nextConversation();
    const isSubagent = (request: RecordedRequest) => systemText(request).includes(SUBAGENT_MARKER);
    fixture.model.enqueueFor(
      (request) => !isSubagent(request),
      reply.subagent('reader', 'Read /etc/hostname', 'Read a file'),
      reply.text('The reader could not read it.'),
    );
    fixture.model.enqueueFor(
      isSubagent,
      reply.toolCalls([['toolu_sub_read', 'Read', { file_path: '/etc/hostname' }]]),
      reply.text('Access was denied.'),
    );

    const result = await fixture.newRuntime().runTurn({ conversation, prompt: 'Delegate' });

    expect(result.outcome).toBe('success');
    const subagentRequests = fixture.model.messageRequests.filter(isSubagent);
    expect(subagentRequests).toHaveLength(2);
    const denied = toolResultsById(subagentRequests.at(-1)).get('toolu_sub_read');
    expect(denied).toMatchObject({ isError: true });
    expect(denied?.text).toMatch(/Denied by the agent's tool policy: "\/etc\/hostname" is outside/);
  });
});
