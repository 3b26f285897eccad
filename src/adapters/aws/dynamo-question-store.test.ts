import { afterAll, beforeAll } from 'vitest';
import { type AwsEmulators, startAwsEmulators } from '../../../test/support/aws-emulators.js';
import { questionStoreContract } from '../../../test/support/question-store-contract.js';
import { DynamoQuestionStore } from './dynamo-question-store.js';

let aws: AwsEmulators;

beforeAll(async () => {
  aws = await startAwsEmulators();
});

afterAll(async () => {
  await aws?.stop();
});

questionStoreContract(
  'DynamoQuestionStore',
  () =>
    new DynamoQuestionStore({ client: aws.dynamo, tableName: aws.tableName, pollIntervalMs: 20 }),
);
