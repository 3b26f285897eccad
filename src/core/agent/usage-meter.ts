import { StringDecoder } from 'node:string_decoder';
import type { ResponseEventReader } from '../../ports/model-upstream.js';

/**
 * Token counts read off the model's responses as they stream through the
 * gateway. Counting at the gateway sees every model call of a turn — main
 * loop, subagents, compaction — which the SDK's per-result figures do not
 * all include, and it cannot be skewed by totals carried over on resume.
 */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheCreationInputTokens: number;
  requests: number;
}

interface RawUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

export class UsageMeter {
  private readonly totals: TokenUsage = {
    inputTokens: 0,
    outputTokens: 0,
    cacheReadInputTokens: 0,
    cacheCreationInputTokens: 0,
    requests: 0,
  };

  snapshot(): TokenUsage {
    return { ...this.totals };
  }

  /**
   * Start reading one response body: server-sent events, JSON, or stream
   * events decoded by the upstream's own reader (Bedrock's event stream).
   */
  observe(kind: 'sse' | 'json' | { events: ResponseEventReader }): {
    write(chunk: Buffer): void;
    end(): void;
  } {
    this.totals.requests += 1;
    if (kind === 'sse') return this.sseReader();
    if (kind === 'json') return this.jsonReader();
    return this.eventsReader(kind.events);
  }

  private add(usage: RawUsage | undefined, fields: 'all' | 'output'): void {
    if (!usage) return;
    if (fields === 'all') {
      this.totals.inputTokens += usage.input_tokens ?? 0;
      this.totals.cacheReadInputTokens += usage.cache_read_input_tokens ?? 0;
      this.totals.cacheCreationInputTokens += usage.cache_creation_input_tokens ?? 0;
    }
    this.totals.outputTokens += usage.output_tokens ?? 0;
  }

  private jsonReader() {
    const chunks: Buffer[] = [];
    return {
      write: (chunk: Buffer) => {
        chunks.push(chunk);
      },
      end: () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { usage?: RawUsage };
          this.add(body.usage, 'all');
        } catch {
          // Not a message body (an error page, say): nothing to count.
        }
      },
    };
  }

  /**
   * Counts one streamed message from its events: input from `message_start`,
   * output from the last `message_delta` (it carries the running total), or
   * from `message_start` if the stream ended before any delta.
   */
  private streamCounter(): { event(value: unknown): void; end(): void } {
    let startOutput = 0;
    let finalOutput: number | undefined;
    return {
      event: (value) => {
        const event = value as {
          type?: string;
          message?: { usage?: RawUsage };
          usage?: RawUsage;
        } | null;
        if (event?.type === 'message_start') {
          const usage = event.message?.usage;
          this.add({ ...usage, output_tokens: 0 }, 'all');
          startOutput = usage?.output_tokens ?? 0;
        } else if (event?.type === 'message_delta' && event.usage) {
          finalOutput = event.usage.output_tokens ?? finalOutput;
        }
      },
      end: () => {
        this.add({ output_tokens: finalOutput ?? startOutput }, 'output');
      },
    };
  }

  private sseReader() {
    const decoder = new StringDecoder('utf8');
    const counter = this.streamCounter();
    let pending = '';
    const onData = (data: string) => {
      try {
        counter.event(JSON.parse(data));
      } catch {
        // Not JSON (a keep-alive comment, say): nothing to count.
      }
    };
    return {
      write: (chunk: Buffer) => {
        pending += decoder.write(chunk);
        let boundary = pending.indexOf('\n\n');
        while (boundary >= 0) {
          const block = pending.slice(0, boundary);
          pending = pending.slice(boundary + 2);
          for (const line of block.split('\n')) {
            if (line.startsWith('data:')) onData(line.slice(5).trim());
          }
          boundary = pending.indexOf('\n\n');
        }
      },
      end: counter.end,
    };
  }

  private eventsReader(reader: ResponseEventReader) {
    const counter = this.streamCounter();
    return {
      write: (chunk: Buffer) => {
        for (const event of reader.write(chunk)) counter.event(event);
      },
      end: counter.end,
    };
  }
}
