import { describe, expect, it, vi } from 'vitest';
import { AgentError, errorMessage } from './errors.js';

class ParentError extends AgentError {
  // Widened to string, so that a subclass can declare its own.
  static override readonly errorName: string = 'ParentError';
}

class ChildError extends ParentError {
  static override readonly errorName = 'ChildError';
  constructor(readonly detail: string) {
    super(`child: ${detail}`);
  }
}

class OtherError extends AgentError {
  static override readonly errorName = 'OtherError';
}

describe('AgentError', () => {
  it('takes its stable name from its class and keeps message and cause', () => {
    const cause = new Error('socket closed');
    const error = new ParentError('could not write', { cause });
    expect(error.name).toBe('ParentError');
    expect(error.message).toBe('could not write');
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toBe('ParentError: could not write');
    expect(new AgentError('plain').name).toBe('AgentError');
  });

  it('recognises its own class and subclasses, not siblings', () => {
    const child = new ChildError('x');
    expect(child.name).toBe('ChildError');
    expect(child.detail).toBe('x');
    expect(ChildError.isInstance(child)).toBe(true);
    expect(ParentError.isInstance(child)).toBe(true);
    expect(AgentError.isInstance(child)).toBe(true);
    expect(ChildError.isInstance(new ParentError('p'))).toBe(false);
    expect(OtherError.isInstance(child)).toBe(false);
  });

  it('rejects plain errors, look-alikes by name, and non-errors', () => {
    const impostor = new Error('same name');
    impostor.name = 'ParentError';
    for (const value of [impostor, new Error('x'), 'ParentError', null, undefined, 42, {}]) {
      expect(ParentError.isInstance(value)).toBe(false);
      expect(AgentError.isInstance(value)).toBe(false);
    }
  });

  it('recognises an error from a second copy of the module', async () => {
    vi.resetModules();
    const copy = await import('./errors.js');
    expect(copy.AgentError).not.toBe(AgentError);
    class CopiedChild extends copy.AgentError {
      static override readonly errorName = 'ChildError';
    }
    const foreign = new CopiedChild('from the other copy');
    expect(foreign).not.toBeInstanceOf(ChildError);
    expect(ChildError.isInstance(foreign)).toBe(true);
    expect(AgentError.isInstance(foreign)).toBe(true);
    expect(ParentError.isInstance(foreign)).toBe(false);
    // And the other way round.
    expect(copy.AgentError.isInstance(new ChildError('here'))).toBe(true);
  });

  it('recognises an object that carries the brand with the class name', () => {
    const branded = Object.defineProperty(
      new Error('made elsewhere'),
      Symbol.for('telegram-claude-agent.error'),
      {
        value: ['OtherError', 'AgentError'],
      },
    );
    expect(OtherError.isInstance(branded)).toBe(true);
    expect(ParentError.isInstance(branded)).toBe(false);
  });

  it('keeps the brand out of enumeration and JSON', () => {
    const error = new ParentError('quiet');
    const brand = Symbol.for('telegram-claude-agent.error');
    expect(Object.getOwnPropertyDescriptor(error, brand)?.enumerable).toBe(false);
    expect(Object.getOwnPropertySymbols({ ...error })).toEqual([]);
    expect(JSON.stringify(error)).toBe('{"name":"ParentError"}');
  });
});

describe('errorMessage', () => {
  it("gives an error's message and anything else as a string", () => {
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage(new ChildError('x'))).toBe('child: x');
    expect(errorMessage('plain text')).toBe('plain text');
    expect(errorMessage(42)).toBe('42');
    expect(errorMessage(undefined)).toBe('undefined');
    expect(errorMessage({ toString: () => 'custom' })).toBe('custom');
  });
});
