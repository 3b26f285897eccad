import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { describe, expect, it } from 'vitest';
import { assistantToolUse } from '../../../test/support/sdk-messages.js';
import { clip, describeToolUse, TurnProgress } from './turn-progress.js';

describe('describeToolUse', () => {
  it.each([
    ['Read', { file_path: '/data/workspaces/t/telegram/5/notes.txt' }, 'Reading notes.txt'],
    ['Write', { file_path: 'out/report.md', content: 'x'.repeat(100_000) }, 'Writing report.md'],
    ['Edit', { file_path: 'src/a.ts', old_string: 'a', new_string: 'b' }, 'Editing a.ts'],
    ['Glob', { pattern: '**/*.ts' }, 'Looking for files: **/*.ts'],
    ['Grep', { pattern: 'TODO', path: '.' }, 'Searching files for "TODO"'],
    ['WebSearch', { query: 'S3 pricing' }, 'Searching the web for "S3 pricing"'],
    [
      'WebFetch',
      { url: 'https://example.com/a/b?c=d', prompt: 'summarise' },
      'Fetching example.com',
    ],
    ['WebFetch', { url: 'not a url', prompt: 'x' }, 'Fetching a web page'],
    [
      'Agent',
      { description: 'Ask', prompt: 'What is S3?', subagent_type: 'aws-support' },
      'Asking the aws-support subagent',
    ],
    ['Task', { description: 'Look around', prompt: 'p' }, 'Asking the general-purpose subagent'],
    ['Skill', { skill: 'agent:hello-world' }, 'Using the hello-world skill'],
    ['Skill', { skill: 'pdf' }, 'Using the pdf skill'],
    [
      'mcp__aws-knowledge__search_documentation',
      { search_phrase: 'S3' },
      'Calling aws-knowledge: search_documentation',
    ],
    ['mcp__my_server__do__it', {}, 'Calling my_server: do__it'],
    ['mcp__chat__send_file', { path: 'out/chart.png', caption: 'Sales' }, 'Sending chart.png'],
    ['mcp__chat__send_file', {}, 'Sending a file'],
    [
      'TodoWrite',
      { todos: [{ content: 'a', status: 'in_progress', activeForm: 'Comparing prices' }] },
      'Comparing prices',
    ],
    ['TodoWrite', { todos: [] }, 'Updating the plan'],
    [
      'Bash',
      { command: 'ls -la', description: 'List the files' },
      'Running a command: List the files',
    ],
    ['Frobnicate', { anything: 1 }, 'Using Frobnicate'],
    ['Read', undefined, 'Reading a file'],
    ['WebSearch', 'not an object', 'Searching the web'],
  ])('%s %j -> %s', (name, input, line) => {
    expect(describeToolUse(name, input)).toBe(line);
  });

  it('never shows shell commands, URL credentials, paths or query strings', () => {
    const secret = 'sk-live-0123456789';
    const bash = describeToolUse('Bash', {
      command: `curl -H "Authorization: Bearer ${secret}" https://api.example.com`,
    });
    expect(bash).toBe('Running a command');
    const fetch = describeToolUse('WebFetch', {
      url: `https://user:${secret}@internal.example.com/path?token=${secret}`,
      prompt: secret,
    });
    expect(fetch).toBe('Fetching internal.example.com');
    const read = describeToolUse('Read', { file_path: `/home/${secret}/notes.txt` });
    expect(read).toBe('Reading notes.txt');
  });

  it('cuts long values to one short line', () => {
    const query = `first line\nsecond\tline ${'word '.repeat(200)}`;
    const line = describeToolUse('WebSearch', { query });
    expect(line.length).toBeLessThanOrEqual(100);
    expect(line).toMatch(/^Searching the web for "first line second line word.*…"$/);
    expect(describeToolUse(`mcp__${'s'.repeat(300)}__${'t'.repeat(300)}`, {}).length).toBeLessThan(
      100,
    );
    expect(describeToolUse('x'.repeat(1_000), {}).length).toBeLessThan(50);
  });

  it('clip never splits an emoji or keeps control characters', () => {
    expect(clip('a\u0000b\u001b[31mc')).toBe('a b [31mc');
    const cut = clip(`${'x'.repeat(58)}😀😀`, 60);
    expect(cut).toBe(`${'x'.repeat(58)}…`);
    expect(clip(`${'x'.repeat(57)}😀😀`, 60)).toBe(`${'x'.repeat(57)}😀…`);
  });
});

describe('TurnProgress', () => {
  it('keeps the latest lines of tool calls, skipping repeats and other messages', () => {
    const progress = new TurnProgress(2);
    const other = { type: 'system', subtype: 'init' } as unknown as SDKMessage;
    expect(progress.add(other)).toBe(false);
    expect(progress.add(assistantText('Let me look.'))).toBe(false);
    expect(progress.add(assistantToolUse('Read', { file_path: 'a.txt' }))).toBe(true);
    expect(progress.add(assistantToolUse('Read', { file_path: 'a.txt' }))).toBe(false);
    expect(progress.add(assistantToolUse('Read', { file_path: 'b.txt' }))).toBe(true);
    expect(progress.add(assistantToolUse('WebSearch', { query: 'c' }))).toBe(true);
    expect(progress.lines()).toEqual(['Reading b.txt', 'Searching the web for "c"']);
  });

  it("labels a subagent's steps with the subagent's name", () => {
    const progress = new TurnProgress();
    progress.add(
      assistantToolUse('Agent', { prompt: 'p', subagent_type: 'aws-support' }, { id: 'toolu_1' }),
    );
    progress.add(
      assistantToolUse('mcp__aws-knowledge__search_documentation', {}, { parent: 'toolu_1' }),
    );
    progress.add(assistantToolUse('Read', { file_path: 'x.md' }, { parent: 'toolu_unknown' }));
    expect(progress.lines()).toEqual([
      'Asking the aws-support subagent',
      'aws-support › Calling aws-knowledge: search_documentation',
      'subagent › Reading x.md',
    ]);
  });
});

function assistantText(text: string): SDKMessage {
  return {
    type: 'assistant',
    parent_tool_use_id: null,
    message: { content: [{ type: 'text', text }] },
  } as unknown as SDKMessage;
}
