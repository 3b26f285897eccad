import type { AttributeDefinition, KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { sessionStoreRetentionDays } from '../../src/adapters/aws/dynamo-session-store.js';
import { storageTableDefinition, TTL_ATTRIBUTE } from '../../src/adapters/aws/table.js';

export interface StorageProps {
  sessionTtlDays: number;
  removalPolicy: RemovalPolicy;
  autoDeleteObjects: boolean;
}

/**
 * One DynamoDB table (conversation index, transcript entries, dedupe records,
 * leases) and one bucket for transcript payloads too large for an item
 * (`transcripts/`) and the conversations' files (`workspaces/`). The
 * table's keys and indexes come from the adapters' own definition, so the
 * deployed table cannot drift from what the code (and its emulator tests) use.
 */
export class Storage extends Construct {
  readonly table: dynamodb.Table;
  readonly bucket: s3.Bucket;
  /** Days the bucket keeps a transcript or workspace object: the session TTL plus the stores' refresh window. */
  readonly transcriptRetentionDays: number;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const definition = storageTableDefinition('unused');
    const attributes = definition.AttributeDefinitions ?? [];
    const keyOf = (schema: KeySchemaElement[] | undefined, type: 'HASH' | 'RANGE') => {
      const name = schema?.find((key) => key.KeyType === type)?.AttributeName;
      return name === undefined ? undefined : attribute(attributes, name);
    };
    const partitionKey = keyOf(definition.KeySchema, 'HASH');
    if (!partitionKey) throw new Error('storageTableDefinition has no partition key');

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey,
      sortKey: keyOf(definition.KeySchema, 'RANGE'),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Encrypted at rest with the AWS-owned key: no KMS charges.
      encryption: dynamodb.TableEncryption.DEFAULT,
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy: props.removalPolicy,
    });
    for (const index of definition.GlobalSecondaryIndexes ?? []) {
      const indexKey = keyOf(index.KeySchema, 'HASH');
      if (!index.IndexName || !indexKey)
        throw new Error('storageTableDefinition has an index without a name or key');
      this.table.addGlobalSecondaryIndex({
        indexName: index.IndexName,
        partitionKey: indexKey,
        sortKey: keyOf(index.KeySchema, 'RANGE'),
        projectionType: projectionOf(index.Projection?.ProjectionType),
        nonKeyAttributes: index.Projection?.NonKeyAttributes,
      });
    }

    // S3 counts from each object's creation, not from the session's last
    // turn. The session store copies objects of live sessions onto
    // themselves when their expiry comes within the refresh window, so the
    // rule must keep objects for the TTL plus that window; the store says how long.
    // The conversations' files (workspaces/, S3WorkspaceStore) follow the
    // same rule with the same 5-day window: a save copies objects older than
    // it onto themselves, and what no manifest references is never refreshed,
    // so the rule removes it (and a whole workspace idle past the TTL).
    this.transcriptRetentionDays = sessionStoreRetentionDays({
      ttlSeconds: props.sessionTtlDays * 86_400,
    });
    this.bucket = new s3.Bucket(this, 'Transcripts', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: false,
      lifecycleRules: [
        {
          id: 'expire-with-sessions',
          enabled: true,
          expiration: Duration.days(this.transcriptRetentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: props.autoDeleteObjects,
    });
  }
}

function attribute(definitions: AttributeDefinition[], name: string): dynamodb.Attribute {
  const type = definitions.find((definition) => definition.AttributeName === name)?.AttributeType;
  switch (type) {
    case 'S':
      return { name, type: dynamodb.AttributeType.STRING };
    case 'N':
      return { name, type: dynamodb.AttributeType.NUMBER };
    case 'B':
      return { name, type: dynamodb.AttributeType.BINARY };
    default:
      throw new Error(`storageTableDefinition does not define attribute ${name}`);
  }
}

function projectionOf(type: string | undefined): dynamodb.ProjectionType {
  if (type === 'KEYS_ONLY') return dynamodb.ProjectionType.KEYS_ONLY;
  if (type === 'INCLUDE') return dynamodb.ProjectionType.INCLUDE;
  return dynamodb.ProjectionType.ALL;
}
