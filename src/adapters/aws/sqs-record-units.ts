import type { SQSRecord } from 'aws-lambda';
import { canCombine } from '../../domain/inbound-message.js';
import { type JobPayload, parseJobPayload } from './sqs-job-sink.js';

/**
 * Which records of an SQS FIFO batch one turn answers together.
 *
 * Messages a person sends while a turn runs wait in the conversation's
 * message group: SQS hands out none of a group's messages while an earlier
 * one is in flight, and once it is deleted the event source receives the
 * waiting ones together, in order, in the next batch (up to its batch size).
 * Locally the queue answers such messages with one turn; so does the worker:
 * consecutive turn-lane records of one group that `canCombine` allows (texts,
 * media, a continuation; never `/new`) become one unit, answered by one turn
 * and deleted together once its answer is recorded.
 *
 * A unit is led by its first record; the others follow it. Records of other
 * groups may sit between them in the batch (SQS orders only within a group).
 */
interface RecordUnit {
  /** Oldest first; the head's message id is the unit's reply-outbox key. */
  records: SQSRecord[];
  payloads: JobPayload[];
}

export type PlannedRecord =
  | { role: 'head'; unit: RecordUnit }
  | { role: 'follower'; head: string; unit: RecordUnit };

/**
 * The units of `records` (one lane's records, in batch order), keyed by
 * message id. A record that is not a job is in none: it fails on its own, and
 * the records of its group after it start a new unit (they are failed too,
 * behind it, by the FIFO batch semantics).
 */
export function planUnits(records: readonly SQSRecord[]): Map<string, PlannedRecord> {
  const plan = new Map<string, PlannedRecord>();
  /** Per message group: the unit later records of the group may still join. */
  const open = new Map<string, RecordUnit>();
  for (const record of records) {
    const group = record.attributes.MessageGroupId ?? record.messageId;
    let payload: JobPayload;
    try {
      payload = parseJobPayload(record.body);
    } catch {
      open.delete(group);
      continue;
    }
    const current = open.get(group);
    const head = current?.payloads[0];
    if (
      current &&
      head &&
      payload.kind === 'turn' &&
      head.kind === 'turn' &&
      canCombine(head.message, payload.message)
    ) {
      current.records.push(record);
      current.payloads.push(payload);
      plan.set(record.messageId, {
        role: 'follower',
        head: (current.records[0] as SQSRecord).messageId,
        unit: current,
      });
      continue;
    }
    const unit: RecordUnit = { records: [record], payloads: [payload] };
    plan.set(record.messageId, { role: 'head', unit });
    if (payload.kind === 'turn') open.set(group, unit);
    else open.delete(group);
  }
  return plan;
}
