import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The one table shape every DynamoDB adapter here uses (they can share a
 * table or each have their own):
 *
 * - `pk` (S, partition key) and `sk` (S, sort key); each adapter prefixes its
 *   keys so item kinds never collide;
 * - `expiresAt` (N, epoch seconds): enable DynamoDB TTL on this attribute.
 *
 * No secondary index. (There was one for listing expired conversations, all
 * under one partition value: it throttled every conversation write at a few
 * hundred a second, for a sweep nothing runs on AWS, where TTL expires the
 * items.)
 */
export const TTL_ATTRIBUTE = 'expiresAt';

/** The table as a CreateTable request: for tests, emulators and as the reference for infra. */
export function storageTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
  };
}

/** Key parts are URI-encoded, so a `#` inside one can never be read as a separator. */
export function keyPart(value: string): string {
  return encodeURIComponent(value);
}

/** The TTL attribute's value (whole epoch seconds) for an instant in epoch ms. */
export function epochSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}
