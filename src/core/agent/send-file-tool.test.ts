import { execFileSync, spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { testConversation } from '../../../test/support/inbound-messages.js';
import { defaultPolicy } from '../../config/agent-config.js';
import { SEND_FILE_TOOL_NAME } from '../../domain/outgoing-file.js';
import { sweepStagedFiles, TurnFileStaging } from './file-staging.js';
import { type CallToolResult, createSendFileServer, sendFile } from './send-file-tool.js';
import { ToolPolicy } from './tool-policy.js';

let root: string;
let workspace: string;
let stagingRoot: string;
let outside: string;
let staging: TurnFileStaging;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'send-file-'));
  workspace = path.join(root, 'workspaces', 'tenant', 'chat-1');
  stagingRoot = path.join(root, 'outgoing');
  outside = path.join(root, 'secret.txt');
  await mkdir(path.join(workspace, 'out'), { recursive: true });
  await writeFile(path.join(workspace, 'out', 'chart.png'), 'PNG bytes');
  await writeFile(path.join(workspace, 'empty.txt'), '');
  await writeFile(outside, 'secret');
  await symlink(outside, path.join(workspace, 'link-to-secret'));
  await symlink(root, path.join(workspace, 'link-to-root'));
  await symlink(path.join(workspace, 'out', 'chart.png'), path.join(workspace, 'link-inside.png'));
  execFileSync('mkfifo', [path.join(workspace, 'pipe')]);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  staging = new TurnFileStaging(stagingRoot, testConversation(1));
});

const call = (args: { path: unknown; caption?: unknown }, maxBytes?: number) =>
  sendFile(args, { workspace, staging, maxBytes });

function text(result: CallToolResult): string {
  return result.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

async function refusedWith(result: Promise<CallToolResult>, reason: RegExp): Promise<void> {
  const outcome = await result;
  expect(outcome.isError).toBe(true);
  expect(text(outcome)).toMatch(/^Not sent: /);
  expect(text(outcome)).toMatch(reason);
  expect(staging.files()).toEqual([]);
}

describe('send_file', () => {
  it('stages a copy of a workspace file, with its name and caption, for the answer to take along', async () => {
    const result = await call({ path: 'out/chart.png', caption: ' Sales by month ' });
    expect(result.isError).toBeUndefined();
    expect(text(result)).toMatch(/chart\.png .* will be sent to the chat/);
    const [file] = staging.files();
    expect(file).toMatchObject({ name: 'chart.png', caption: 'Sales by month', bytes: 9 });
    // A copy: the agent changing the file afterwards changes nothing that goes out.
    expect(file?.path.startsWith(stagingRoot)).toBe(true);
    await writeFile(path.join(workspace, 'out', 'chart.png'), 'changed');
    expect(await readFile(file?.path ?? '', 'utf8')).toBe('PNG bytes');
    await writeFile(path.join(workspace, 'out', 'chart.png'), 'PNG bytes');
  });

  it('follows a link that stays inside the workspace, naming the file as the agent did', async () => {
    await call({ path: 'link-inside.png' });
    expect(staging.files()[0]?.name).toBe('link-inside.png');
  });

  it('refuses a path outside the workspace, with the reason', async () => {
    await refusedWith(call({ path: outside }), /outside the conversation's working directory/);
    await refusedWith(call({ path: '../../secret.txt' }), /paths with "\.\." are not allowed/);
    await refusedWith(call({ path: '~/.ssh/id_rsa' }), /"~" paths are not allowed/);
    await refusedWith(call({ path: '' }), /expected a file path/);
  });

  it('refuses a symbolic link out of the workspace, as a file or as a folder on the way', async () => {
    await refusedWith(call({ path: 'link-to-secret' }), /through a symbolic link/);
    await refusedWith(call({ path: 'link-to-root/secret.txt' }), /through a symbolic link/);
  });

  it('refuses a missing file, an empty one, a folder and a FIFO (without waiting on it)', async () => {
    await refusedWith(call({ path: 'nope.pdf' }), /"nope\.pdf" does not exist/);
    await refusedWith(call({ path: 'empty.txt' }), /is empty/);
    await refusedWith(call({ path: 'out' }), /is not a file/);
    await refusedWith(call({ path: 'pipe' }), /is not a file/);
  });

  it('refuses a file over the size limit, saying how big it is and what the limit is', async () => {
    await writeFile(path.join(workspace, 'big.bin'), Buffer.alloc(2_000_001));
    await refusedWith(
      call({ path: 'big.bin' }, 2_000_000),
      /too large to send \(2 MB; the limit is 2 MB\)/,
    );
    // Telegram's 50 MB is the default.
    await writeFile(path.join(workspace, 'huge.bin'), Buffer.alloc(0));
    const { truncate } = await import('node:fs/promises');
    await truncate(path.join(workspace, 'huge.bin'), 50_000_001);
    await refusedWith(call({ path: 'huge.bin' }), /the limit is 50 MB/);
  });

  it('refuses a caption over Telegram limit, and more files than a turn may send', async () => {
    await refusedWith(
      call({ path: 'out/chart.png', caption: 'x'.repeat(1025) }),
      /captions can be at most 1024/,
    );
    for (let index = 0; index < 10; index++) await call({ path: 'out/chart.png' });
    const eleventh = await call({ path: 'out/chart.png' });
    expect(eleventh.isError).toBe(true);
    expect(text(eleventh)).toMatch(/at most 10 files/);
    expect(staging.files()).toHaveLength(10);
  });

  it('a discarded turn leaves nothing staged; the sweep removes what a crash left', async () => {
    await call({ path: 'out/chart.png' });
    const dir = path.dirname(staging.files()[0]?.path ?? '');
    await staging.discard();
    expect(staging.files()).toEqual([]);
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);

    const sweepRoot = path.join(root, 'sweep');
    const left = new TurnFileStaging(sweepRoot, testConversation(2));
    await sendFile({ path: 'out/chart.png' }, { workspace, staging: left });
    expect(await sweepStagedFiles(sweepRoot)).toBe(0);
    expect(await sweepStagedFiles(sweepRoot, { now: Date.now() + 8 * 24 * 3600_000 })).toBe(1);
    await expect(readFile(left.files()[0]?.path ?? '')).rejects.toThrow(/ENOENT/);
  });

  it('never sends the target of a link swapped into the path while it checks and opens it', async () => {
    // Another process swaps race.txt between a file of the workspace and a
    // link to a file outside it, as fast as it can, while the tool sends it
    // again and again. Without the check on the opened file a path approved
    // as the workspace file gets opened as the link's target now and then.
    const raced = path.join(workspace, 'race.txt');
    const swapper = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs');
         const [p, target] = process.argv.slice(1);
         for (;;) {
           try { fs.rmSync(p, { force: true }); fs.writeFileSync(p, 'public'); } catch {}
           try { fs.rmSync(p, { force: true }); fs.symlinkSync(target, p); } catch {}
         }`,
        raced,
        outside,
      ],
      { stdio: 'ignore' },
    );
    try {
      await vi.waitFor(() => lstat(raced), { timeout: 10_000, interval: 5 });
      const sent: string[] = [];
      let refused = 0;
      // Until each side of the race has been seen often (bounded).
      for (let i = 0; i < 5_000 && (sent.length < 100 || refused < 100); i++) {
        const turnStaging = new TurnFileStaging(stagingRoot, testConversation(2));
        const result = await sendFile({ path: 'race.txt' }, { workspace, staging: turnStaging });
        if (result.isError) refused++;
        for (const file of turnStaging.files()) sent.push(await readFile(file.path, 'utf8'));
        await turnStaging.discard();
      }
      expect(sent).not.toContain('secret');
      // Both sides of the race were seen, or the test proved nothing.
      expect(sent.length).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(0);
    } finally {
      swapper.kill('SIGKILL');
      await rm(raced, { force: true });
    }
  });

  it('is an in-process MCP server named chat with the send_file tool', () => {
    const server = createSendFileServer({ workspace, staging });
    expect(server).toMatchObject({ type: 'sdk', name: 'chat' });
    expect(SEND_FILE_TOOL_NAME).toBe('mcp__chat__send_file');
  });
});

describe('the tool policy on send_file', () => {
  const scope = () => ({ workspace, readOnly: [] });

  it('allows a workspace file and refuses paths out, while other MCP tools stay allowed', async () => {
    const policy = new ToolPolicy(defaultPolicy());
    expect(await policy.evaluate(SEND_FILE_TOOL_NAME, { path: 'out/chart.png' }, scope())).toEqual({
      allow: true,
    });
    const out = await policy.evaluate(SEND_FILE_TOOL_NAME, { path: 'link-to-secret' }, scope());
    expect(out).toMatchObject({ allow: false, reason: expect.stringMatching(/symbolic link/) });
    expect(await policy.evaluate('mcp__docs__search', { q: 'x' }, scope())).toEqual({
      allow: true,
    });
  });

  it('refuses it when the file tools are off', async () => {
    const base = defaultPolicy();
    const policy = new ToolPolicy({ ...base, tools: { ...base.tools, files: 'off' } });
    expect(
      await policy.evaluate(SEND_FILE_TOOL_NAME, { path: 'out/chart.png' }, scope()),
    ).toMatchObject({ allow: false, reason: expect.stringMatching(/file tools are turned off/) });
  });
});
