import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering, checked on every run: arrows point down only.
 *   domain <- ports <- core (pipeline | agent) <- adapters <- entrypoints
 *   config sits beside ports: it may use domain, never core.
 * Test files may reach across (a core test may use an in-memory adapter).
 */
const SRC = path.resolve('src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

/** Every module a file imports: relative ones resolved to a path under src/, packages by name. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map(
    (match) => match[1] as string,
  );
  return specifiers.map((spec) =>
    spec.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(file), spec)) : spec,
  );
}

const PLATFORM_PACKAGES =
  /^(grammy|@grammyjs\/|@aws-sdk\/|@smithy\/|@aws-lambda-powertools\/|better-sqlite3|aws-lambda)/;

function violations(folder: string, forbidden: (target: string) => boolean): string[] {
  return sourceFiles(path.join(SRC, folder)).flatMap((file) =>
    importsOf(file)
      .filter(forbidden)
      .map((target) => `${path.relative(SRC, file)} -> ${target}`),
  );
}

const inFolder = (target: string, ...folders: string[]) =>
  folders.some((folder) => target === folder || target.startsWith(`${folder}/`));

describe('architecture', () => {
  it('domain imports nothing of the project but itself', () => {
    expect(
      violations('domain', (t) =>
        inFolder(t, 'core', 'ports', 'config', 'adapters', 'entrypoints'),
      ),
    ).toEqual([]);
  });

  it('ports and config never import core, adapters or entry points', () => {
    const upward = (t: string) => inFolder(t, 'core', 'adapters', 'entrypoints');
    expect([...violations('ports', upward), ...violations('config', upward)]).toEqual([]);
  });

  it('core imports no platform package, adapter or entry point', () => {
    expect(
      violations(
        'core',
        (t) => PLATFORM_PACKAGES.test(t) || inFolder(t, 'adapters', 'entrypoints'),
      ),
    ).toEqual([]);
  });

  it('the conversation pipeline and the agent host meet only at the TurnRunner port', () => {
    expect([
      ...violations('core/pipeline', (t) => inFolder(t, 'core/agent')),
      ...violations('core/agent', (t) => inFolder(t, 'core/pipeline')),
    ]).toEqual([]);
  });

  it('adapters never import entry points', () => {
    expect(violations('adapters', (t) => inFolder(t, 'entrypoints'))).toEqual([]);
  });
});
