import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEmulators, startAwsEmulators } from '../../../test/support/aws-emulators.js';
import { testMessage } from '../../../test/support/inbound-messages.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import type { AlbumGate } from '../../ports/album-gate.js';
import { InMemoryAlbumGate } from '../memory/in-memory-album-gate.js';
import { DynamoAlbumGate } from './dynamo-album-gate.js';

let aws: AwsEmulators;

beforeAll(async () => {
  aws = await startAwsEmulators();
});

afterAll(async () => {
  await aws?.stop();
});

function photo(id: string): InboundMessage {
  return testMessage({
    id,
    chatType: 'group',
    body: {
      kind: 'media',
      text: '',
      attachments: [{ kind: 'photo', fileId: `f-${id}`, fileUniqueId: `u-${id}` }],
    },
  });
}

describe.each([
  [
    'DynamoAlbumGate',
    (): AlbumGate => new DynamoAlbumGate({ client: aws.dynamo, tableName: aws.tableName }),
  ],
  ['InMemoryAlbumGate', (): AlbumGate => new InMemoryAlbumGate()],
])('%s', (_name, make) => {
  it('holds items that come before the album is admitted, and passes those after', async () => {
    const gate = make();
    const album = randomUUID();
    expect(await gate.passOrHold(album, photo('m1'))).toBe(false);
    expect(await gate.passOrHold(album, photo('m2'))).toBe(false);
    expect((await gate.admit(album)).map((item) => item.id)).toEqual(['m1', 'm2']);
    expect(await gate.passOrHold(album, photo('m4'))).toBe(true);
    // Another album, or the same id in another chat (another key), is not admitted.
    expect(await gate.passOrHold(randomUUID(), photo('m5'))).toBe(false);
  });

  it('holds no more than an album can have', async () => {
    const gate = make();
    const album = randomUUID();
    for (let index = 0; index < 15; index++) {
      expect(await gate.passOrHold(album, photo(`m${index}`))).toBe(false);
    }
    expect(await gate.admit(album)).toHaveLength(10);
  });

  it('sees an item held at the same moment as the album is admitted, at least once', async () => {
    const gate = make();
    const album = randomUUID();
    const [passed, held] = await Promise.all([
      gate.passOrHold(album, photo('early')),
      gate.admit(album),
    ]);
    expect(passed || held.some((item) => item.id === 'early')).toBe(true);
  });
});
