import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The one table shape every DynamoDB adapter here uses (they can share a
 * table or each have their own):
 *
 * - `pk` (S, partition key) and `sk` (S, sort key); each adapter prefixes its
 *   keys so item kinds never collide;
 * - `expiresAt` (N, epoch seconds): enable DynamoDB TTL on this attribute;
 * - the `byExpiry` global secondary index (`expiryKey` S, `expiryMs` N), used
 *   only by the conversation index to list expired conversations. Items of
 *   other kinds do not carry these attributes, so the index stays sparse.
 */
export const TTL_ATTRIBUTE = 'expiresAt';
export const EXPIRY_INDEX_NAME = 'byExpiry';

/** The table as a CreateTable request: for tests, emulators and as the reference for infra. */
export function storageTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'expiryKey', AttributeType: 'S' },
      { AttributeName: 'expiryMs', AttributeType: 'N' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: EXPIRY_INDEX_NAME,
        KeySchema: [
          { AttributeName: 'expiryKey', KeyType: 'HASH' },
          { AttributeName: 'expiryMs', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
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
