import { describe, expect, it } from 'vitest';
import {
  AwsStorageError,
  SessionContentionError,
  TranscriptCorruptError,
} from '../src/adapters/aws/errors.js';
import { SecretUnavailableError } from '../src/adapters/aws/secret-source.js';
import { RecordFailedError } from '../src/adapters/aws/sqs-record-processor.js';
import { DatabaseSchemaError } from '../src/adapters/sqlite/database.js';
import { BotApiError } from '../src/adapters/telegram/bot-api-lite.js';
import { AgentConfigError } from '../src/config/config-error.js';
import { SettingsError } from '../src/config/settings-error.js';
import { TurnFailedError } from '../src/core/pipeline/conversation-worker.js';
import { AgentError } from '../src/domain/errors.js';
import { RegisterWebhookError } from '../src/entrypoints/aws/register-webhook.js';
import { VersionConflictError } from '../src/ports/conversation-index.js';
import { WorkspaceConflictError, WorkspaceStoreError } from '../src/ports/workspace-store.js';

/**
 * Every error class of the package, with one error made by it: each belongs
 * to the one tree, carries its own stable name, and recognises its errors
 * with `isInstance` (which, unlike `instanceof`, works across entry points).
 */
const errors: Array<[type: { isInstance(value: unknown): boolean }, error: AgentError]> = [
  [AgentConfigError, new AgentConfigError('/agent', [{ file: 'a.json', path: '', message: 'x' }])],
  [SettingsError, new SettingsError([{ name: 'X', message: 'missing' }])],
  [VersionConflictError, new VersionConflictError('c1', 3)],
  [TurnFailedError, new TurnFailedError('turn failed', 'Sorry.')],
  [AwsStorageError, new AwsStorageError('storage')],
  [TranscriptCorruptError, new TranscriptCorruptError('corrupt')],
  [SessionContentionError, new SessionContentionError('contention')],
  [SecretUnavailableError, new SecretUnavailableError('no secret')],
  [RecordFailedError, new RecordFailedError('failed')],
  [DatabaseSchemaError, new DatabaseSchemaError('schema')],
  [BotApiError, new BotApiError('getMe: 401')],
  [RegisterWebhookError, new RegisterWebhookError('no token')],
  [WorkspaceStoreError, new WorkspaceStoreError('workspace')],
  [WorkspaceConflictError, new WorkspaceConflictError('saved by another writer')],
];

describe('the error tree', () => {
  it.each(errors.map(([type, error]) => [error.name, type, error] as const))(
    '%s is an AgentError with its own stable name',
    (name, type, error) => {
      expect(error).toBeInstanceOf(AgentError);
      expect(name).toBe((error.constructor as typeof AgentError).errorName);
      expect(type.isInstance(error)).toBe(true);
      expect(AgentError.isInstance(error)).toBe(true);
      expect(type.isInstance(new Error(error.message))).toBe(false);
    },
  );

  it('gives every class a name of its own, and isInstance tells them apart', () => {
    const names = errors.map(([, error]) => error.name);
    expect(new Set(names).size).toBe(names.length);
    for (const [type, error] of errors) {
      const recognised = errors.filter(([, other]) => type.isInstance(other));
      // Only itself, except a base class, which also recognises its subclasses.
      const expected = errors.filter(
        ([, other]) =>
          other === error ||
          (type === AwsStorageError && other instanceof AwsStorageError) ||
          (type === WorkspaceStoreError && other instanceof WorkspaceStoreError),
      );
      expect(recognised).toEqual(expected);
    }
  });

  it('keeps the fields and messages of each error', () => {
    const turn = new TurnFailedError('turn ended with outcome error', 'Sorry, it broke.');
    expect(turn.userMessage).toBe('Sorry, it broke.');
    expect(new VersionConflictError('c1', null).message).toBe(
      'conversation c1 changed concurrently (expected version none)',
    );
    const cause = new Error('access denied');
    const secret = new SecretUnavailableError('could not read secret s', { cause });
    expect(secret.cause).toBe(cause);
    expect(new TranscriptCorruptError('bad').name).toBe('TranscriptCorruptError');
    expect(AwsStorageError.isInstance(new TranscriptCorruptError('bad'))).toBe(true);
    expect(TranscriptCorruptError.isInstance(new AwsStorageError('other'))).toBe(false);
  });
});
