import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';

/**
 * One batch of a FIFO queue through Powertools, as every queue consumer here
 * wants it: records in order, a failed record fails only the later records of
 * its own message group (the other groups go on), and a batch whose every
 * record failed is a partial response like any other, not a thrown error
 * (the records already carry their own visibility).
 */
export function processFifoBatch(
  records: SQSRecord[],
  processRecord: (record: SQSRecord) => Promise<void>,
  context: Context | undefined,
): Promise<SQSBatchResponse> {
  if (records.length === 0) return Promise.resolve({ batchItemFailures: [] });
  return processPartialResponse(
    { Records: records },
    processRecord,
    new SqsFifoPartialProcessorAsync(),
    {
      context,
      skipGroupOnError: true,
      throwOnFullBatchFailure: false,
    },
  );
}
