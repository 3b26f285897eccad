import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AwsEmulators,
  recordRequests,
  startAwsEmulators,
} from '../../../test/support/aws-emulators.js';
import { batchWrite, conditionFailureItem, queryAll } from './dynamo-util.js';

let aws: AwsEmulators;

beforeAll(async () => {
  aws = await startAwsEmulators({ tableName: 'dynamo-util' });
});

afterAll(async () => {
  await aws?.stop();
});

describe('conditionFailureItem', () => {
  it('turns the raw attribute values of a failed condition into plain values', () => {
    const item = conditionFailureItem({
      Item: {
        pk: { S: 'C#1' },
        version: { N: '7' },
        done: { BOOL: true },
        gone: { NULL: true },
        tags: { L: [{ S: 'a' }] },
      },
    });

    expect(item).toEqual({ pk: 'C#1', version: 7, done: true, gone: null, tags: ['a'] });
  });

  it('is undefined when the service sent no item', () => {
    expect(conditionFailureItem({})).toBeUndefined();
  });
});

describe('queryAll', () => {
  it('reads every page, in key order, without changing the input it was given', async () => {
    const doc = DynamoDBDocumentClient.from(aws.dynamo);
    const keys = Array.from({ length: 7 }, (_, index) => `s${String(index).padStart(2, '0')}`);
    await batchWrite(
      doc,
      aws.tableName,
      keys.map((sk) => ({ PutRequest: { Item: { pk: 'P', sk } } })),
    );
    const log = recordRequests(aws.dynamo);
    const input = {
      TableName: aws.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'P' },
      Limit: 3,
    };

    const items = await queryAll(doc, input);

    expect(items.map((item) => item.sk)).toEqual(keys);
    expect(log.byOperation.get('Query')).toBe(3);
    expect(input).not.toHaveProperty('ExclusiveStartKey');
  });
});
