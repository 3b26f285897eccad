import type { TestProject } from 'vitest/node';
import { detectShellSandbox } from '../../src/config/agent-config/shell-sandbox.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Whether Claude Code's shell sandbox (bubblewrap + socat on Linux) works on this machine. */
    shellSandbox: boolean;
  }
}

/** The Debian/Ubuntu packages that give Claude Code its sandbox on Linux. */
export const SANDBOX_PACKAGES = 'bubblewrap socat';

/**
 * Runs once before the suite. Tests that need the shell sandbox run where it
 * exists; elsewhere they are skipped, and this says so in one line. In CI
 * (`CI=true`) a missing sandbox fails the run instead, so CI keeps proving
 * the sandbox rather than quietly skipping it.
 */
export default async function setup(project: TestProject): Promise<void> {
  const sandbox = await detectShellSandbox({ PATH: process.env.PATH });
  project.provide('shellSandbox', sandbox.available);
  if (sandbox.available) return;
  const line = `Shell-sandbox tests skipped: ${sandbox.reason}. To run them: sudo apt-get install ${SANDBOX_PACKAGES}`;
  if (process.env.CI === 'true') {
    throw new Error(
      `CI must run the shell-sandbox tests, but ${sandbox.reason} (install ${SANDBOX_PACKAGES})`,
    );
  }
  console.warn(`\n${line}\n`);
}
