import { describe, expect, it } from 'vitest';
import { en, texts } from './en.js';

describe('English texts', () => {
  it('is the active language', () => {
    expect(texts).toBe(en);
  });

  it('says "Stopped." for a stopped turn, in the chat and in the runtime alike', () => {
    expect(en.stopped).toBe('Stopped.');
  });

  it('/status: a session, usage and a running turn, in rough units', () => {
    const status = en.status({
      session: { id: 'abcdef123456', idleMs: 3 * 3600_000 },
      turns: 12,
      inputTokens: 1_234_567,
      outputTokens: 89,
      costUsd: 1.5,
      runningForMs: 45_000,
    });
    expect(status).toBe(
      [
        'Session: abcdef12 (last active 3 h ago)',
        'Turns: 12',
        'Tokens: 1,234,567 in, 89 out',
        'Cost: $1.5000',
        'Working: yes, for 45 s',
      ].join('\n'),
    );
  });

  it.each([
    [0, '0 s'],
    [89_000, '89 s'],
    [90_000, '2 min'],
    [89 * 60_000, '89 min'],
    [90 * 60_000, '2 h'],
    [35 * 3600_000, '35 h'],
    [36 * 3600_000, '2 days'],
    [-5_000, '0 s'],
  ])('a turn running for %i ms reads "%s"', (ms, reads) => {
    const status = en.status({
      session: null,
      turns: 0,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      runningForMs: ms,
    });
    expect(status.split('\n').at(-1)).toBe(`Working: yes, for ${reads}`);
  });

  it('names an unsupported message and falls back when a step says nothing', () => {
    expect(en.unsupported('voice messages')).toBe(
      "Sorry, I can't handle voice messages yet. Please send me text.",
    );
    expect(en.activity.reading()).toBe('Reading a file');
    expect(en.activity.calling('docs')).toBe('Calling docs');
    expect(en.activity.bySubagent(undefined, 'Reading x.md')).toBe('subagent › Reading x.md');
    expect(en.terminal.greeting('/srv/agent')).toBe(
      `Chatting with the agent in /srv/agent. ${en.terminal.help}`,
    );
  });
});
