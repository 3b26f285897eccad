import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { describe, expect, it } from 'vitest';
import { bedrockEventReader, encodeBedrockEventStream } from './bedrock-event-stream.js';

const EVENTS = [
  { type: 'message_start', message: { usage: { input_tokens: 9, output_tokens: 1 } } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'héllo' } },
  { type: 'message_delta', usage: { output_tokens: 4 } },
];

describe('bedrockEventReader', () => {
  it('returns the Messages API events inside the frames', () => {
    expect(bedrockEventReader().write(encodeBedrockEventStream(EVENTS))).toEqual(EVENTS);
  });

  it('holds a frame split across network chunks until it is complete', () => {
    const bytes = encodeBedrockEventStream(EVENTS);
    const reader = bedrockEventReader();
    const seen: unknown[] = [];
    for (let offset = 0; offset < bytes.length; offset += 7) {
      seen.push(...reader.write(bytes.subarray(offset, offset + 7)));
    }
    expect(seen).toEqual(EVENTS);
  });

  it('skips frames that are not chunk events, such as exceptions', () => {
    const codec = new EventStreamCodec(toUtf8, fromUtf8);
    const exception = codec.encode({
      headers: {
        ':message-type': { type: 'string', value: 'exception' },
        ':exception-type': { type: 'string', value: 'throttlingException' },
      },
      body: fromUtf8(JSON.stringify({ message: 'Too many requests' })),
    });
    const [first] = EVENTS;
    const bytes = Buffer.concat([encodeBedrockEventStream([first]), exception]);
    expect(bedrockEventReader().write(bytes)).toEqual([first]);
  });

  it('gives up quietly on bytes that are not an event stream', () => {
    expect(bedrockEventReader().write(Buffer.from([0, 0, 0, 1, 2, 3]))).toEqual([]);
  });
});
