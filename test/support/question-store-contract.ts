import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { OpenQuestion, QuestionStore } from '../../src/ports/question-store.js';

/** What every QuestionStore promises (in memory, SQLite and DynamoDB). */
export function questionStoreContract(name: string, make: () => QuestionStore): void {
  const open = (overrides: Partial<OpenQuestion> = {}): OpenQuestion => ({
    id: randomUUID(),
    options: 3,
    multiSelect: false,
    freeText: true,
    expiresAt: Date.now() + 60_000,
    ...overrides,
  });
  const never = new AbortController().signal;

  describe(`${name} (QuestionStore contract)`, () => {
    it('records one choice; later presses, and presses of another question, are stale', async () => {
      const store = make();
      const conversation = randomUUID();
      const question = open();
      await store.open(conversation, question);
      expect(await store.press(conversation, 'forged-id', { type: 'choose', index: 0 }, 'p0')).toBe(
        'stale',
      );
      expect(await store.press(randomUUID(), question.id, { type: 'choose', index: 0 }, 'p1')).toBe(
        'stale',
      );
      expect(await store.press(conversation, question.id, { type: 'choose', index: 3 }, 'p2')).toBe(
        'stale',
      );
      expect(await store.press(conversation, question.id, { type: 'toggle', index: 1 }, 'p3')).toBe(
        'stale',
      );
      expect(await store.press(conversation, question.id, { type: 'choose', index: 1 }, 'p4')).toBe(
        'chosen',
      );
      expect(await store.press(conversation, question.id, { type: 'choose', index: 2 }, 'p5')).toBe(
        'stale',
      );
      const state = await store.waitForChange(conversation, question.id, 0, never);
      expect(state?.answer).toEqual({ kind: 'chosen', indexes: [1] });
      await store.close(conversation, question.id);
      expect(await store.waitForChange(conversation, question.id, 0, never)).toBeNull();
    });

    it('toggles options of a multi-select question, once per press, until Done', async () => {
      const store = make();
      const conversation = randomUUID();
      const question = open({ multiSelect: true });
      await store.open(conversation, question);
      const press = (index: number, id: string) =>
        store.press(conversation, question.id, { type: 'toggle', index }, id);
      expect(await press(2, 'a')).toBe('selected');
      expect(await press(2, 'a')).toBe('stale'); // the same update, delivered again
      expect(await press(0, 'b')).toBe('selected');
      expect(await press(2, 'c')).toBe('unselected');
      expect(await press(1, 'd')).toBe('selected');
      const seen = await store.waitForChange(conversation, question.id, 0, never);
      expect(seen?.selected).toEqual([0, 1]);
      expect(seen?.answer).toBeNull();
      expect(await store.press(conversation, question.id, { type: 'done' }, 'e')).toBe('done');
      const done = await store.waitForChange(conversation, question.id, seen?.version ?? 0, never);
      expect(done?.answer).toEqual({ kind: 'chosen', indexes: [0, 1] });
    });

    it('takes a typed answer once, only for a question that takes one, and not after expiry', async () => {
      const store = make();
      const conversation = randomUUID();
      expect(await store.answerText(conversation, 'hello', 'm0')).toBe(false);
      const buttonsOnly = open({ freeText: false });
      await store.open(conversation, buttonsOnly);
      expect(await store.answerText(conversation, 'hello', 'm1')).toBe(false);
      const question = open();
      await store.open(conversation, question);
      expect(await store.answerText(conversation, 'blue, please', 'm2')).toBe(true);
      expect(await store.answerText(conversation, 'blue, please', 'm2')).toBe(true);
      expect(await store.answerText(conversation, 'something else', 'm3')).toBe(false);
      const state = await store.waitForChange(conversation, question.id, 0, never);
      expect(state?.answer).toEqual({ kind: 'text', text: 'blue, please' });

      const expired = open({ expiresAt: Date.now() - 1 });
      await store.open(conversation, expired);
      expect(await store.answerText(conversation, 'late', 'm4')).toBe(false);
      expect(await store.press(conversation, expired.id, { type: 'choose', index: 0 }, 'p')).toBe(
        'stale',
      );
    });

    it('ends a wait when the signal aborts, with the state as it is', async () => {
      const store = make();
      const conversation = randomUUID();
      const question = open();
      await store.open(conversation, question);
      const state = await store.waitForChange(
        conversation,
        question.id,
        0,
        AbortSignal.timeout(50),
      );
      expect(state).toEqual({ version: 0, selected: [], answer: null });
    });

    it('keeps "always" grants per conversation until cleared', async () => {
      const store = make();
      const conversation = randomUUID();
      expect(await store.hasGrant(conversation, 'Bash:ls')).toBe(false);
      await store.addGrant(conversation, 'Bash:ls');
      await store.addGrant(conversation, 'WebFetch:example.com');
      expect(await store.hasGrant(conversation, 'Bash:ls')).toBe(true);
      expect(await store.hasGrant(randomUUID(), 'Bash:ls')).toBe(false);
      await store.clearGrants(conversation);
      expect(await store.hasGrant(conversation, 'Bash:ls')).toBe(false);
    });
  });
}
