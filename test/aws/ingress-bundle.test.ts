import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

// The ingress must answer Telegram fast from a cold start: its bundle holds
// the AWS clients, zod and the Telegram normaliser, never the agent.

describe('ingress bundle', () => {
  it('leaves the Agent SDK, grammY and SQLite out of the import graph', async () => {
    const result = await build({
      entryPoints: ['src/entrypoints/aws/ingress-handler.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      mainFields: ['module', 'main'],
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    for (const heavy of [
      '@anthropic-ai/claude-agent-sdk',
      'node_modules/grammy',
      'better-sqlite3',
    ]) {
      expect(inputs.filter((input) => input.includes(heavy))).toEqual([]);
    }
    const bytes = result.outputFiles?.[0]?.contents.byteLength ?? 0;
    expect(bytes).toBeLessThan(1_500_000);
  });
});
