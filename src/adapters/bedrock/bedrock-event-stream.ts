import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import type { ResponseEventReader } from '../../ports/model-upstream.js';

/** The content type of Bedrock's `invoke-with-response-stream` answers. */
export const BEDROCK_EVENT_STREAM = 'application/vnd.amazon.eventstream';

// Each frame starts with its own total length (a big-endian uint32).
const PRELUDE_BYTES = 4;

/**
 * Reads Bedrock's binary event stream as it arrives: frames of the AWS event
 * stream encoding, each `chunk` event carrying one Messages API stream event
 * (`message_start`, `message_delta`, ...) as base64 JSON. Returns those inner
 * events, so the gateway counts Bedrock tokens exactly as it counts the
 * Anthropic API's server-sent events. Frames split across network chunks are
 * held until complete; anything that is not a chunk event (an exception
 * frame, say) is skipped.
 */
export function bedrockEventReader(): ResponseEventReader {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  let buffered = Buffer.alloc(0);
  return {
    write(chunk) {
      buffered = buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([buffered, chunk]);
      const events: unknown[] = [];
      while (buffered.length >= PRELUDE_BYTES) {
        const frameLength = buffered.readUInt32BE(0);
        if (frameLength < PRELUDE_BYTES) {
          // Not an event stream after all; stop reading rather than loop.
          buffered = Buffer.alloc(0);
          break;
        }
        if (buffered.length < frameLength) break;
        const frame = buffered.subarray(0, frameLength);
        buffered = buffered.subarray(frameLength);
        const event = innerEvent(codec, frame);
        if (event !== undefined) events.push(event);
      }
      return events;
    },
  };
}

function innerEvent(codec: EventStreamCodec, frame: Uint8Array): unknown {
  try {
    const message = codec.decode(frame);
    if (message.headers[':event-type']?.value !== 'chunk') return undefined;
    const payload = JSON.parse(toUtf8(message.body)) as { bytes?: unknown };
    if (typeof payload.bytes !== 'string') return undefined;
    return JSON.parse(Buffer.from(payload.bytes, 'base64').toString('utf8'));
  } catch {
    // A damaged frame is the model's problem to report, not the meter's.
    return undefined;
  }
}

/** Encodes Messages API events as Bedrock would stream them (tests and benchmarks). */
export function encodeBedrockEventStream(events: unknown[]): Buffer {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  const frames = events.map((event) =>
    codec.encode({
      headers: {
        ':event-type': { type: 'string', value: 'chunk' },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'event' },
      },
      body: fromUtf8(
        JSON.stringify({ bytes: Buffer.from(JSON.stringify(event)).toString('base64') }),
      ),
    }),
  );
  return Buffer.concat(frames);
}
