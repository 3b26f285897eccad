import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { type AwsEmulators, startAwsEmulators } from '../../../test/support/aws-emulators.js';
import { describeConversationIndexContract } from '../../../test/support/conversation-index-contract.js';
import { DynamoConversationIndex } from './dynamo-conversation-index.js';

let aws: AwsEmulators;

beforeAll(async () => {
  aws = await startAwsEmulators();
});

afterAll(async () => {
  await aws?.stop();
});

// The contract wants an empty index per test (it lists everything expired),
// so each test gets its own table.
describeConversationIndexContract('DynamoConversationIndex', async () => {
  const tableName = `index-${randomUUID()}`;
  await aws.createTable(tableName);
  return {
    index: new DynamoConversationIndex({ client: aws.dynamo, tableName }),
    cleanup: () => aws.deleteTable(tableName),
  };
});

describeConversationIndexContract(
  'DynamoConversationIndex (condition failures carry the item, as on DynamoDB)',
  async () => {
    const tableName = `index-${randomUUID()}`;
    await aws.createTable(tableName);
    return {
      index: new DynamoConversationIndex({
        client: aws.dynamoReturningConditionItems(),
        tableName,
      }),
      cleanup: () => aws.deleteTable(tableName),
    };
  },
);
