import { StringDecoder } from 'node:string_decoder';

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

  /** Start reading one response body, SSE or JSON. */
  observe(kind: 'sse' | 'json'): { write(chunk: Buffer): void; end(): void } {
    this.totals.requests += 1;
    return kind === 'sse' ? this.sseReader() : this.jsonReader();
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

  private sseReader() {
    const decoder = new StringDecoder('utf8');
    let pending = '';
    let startOutput = 0;
    let finalOutput: number | undefined;
    const onEvent = (data: string) => {
      let event: { type?: string; message?: { usage?: RawUsage }; usage?: RawUsage };
      try {
        event = JSON.parse(data);
      } catch {
        return;
      }
      if (event.type === 'message_start') {
        const usage = event.message?.usage;
        this.add({ ...usage, output_tokens: 0 }, 'all');
        startOutput = usage?.output_tokens ?? 0;
      } else if (event.type === 'message_delta' && event.usage) {
        // message_delta carries the cumulative output count; keep the last one.
        finalOutput = event.usage.output_tokens ?? finalOutput;
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
            if (line.startsWith('data:')) onEvent(line.slice(5).trim());
          }
          boundary = pending.indexOf('\n\n');
        }
      },
      end: () => {
        this.add({ output_tokens: finalOutput ?? startOutput }, 'output');
      },
    };
  }
}
