import { defineConfig } from 'vitest/config';

// The suite starts real Claude Code processes and local servers; two cores
// means two test files at a time is the useful maximum.
export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'infra/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
