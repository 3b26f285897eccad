import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// `npm start` and `npm run chat` as the package's scripts define them, in a
// copy of the package with stand-ins for dist/ and the compiler: a checkout
// compiles before it starts; an install without dev dependencies (the
// container's runtime stage, dist/ built in an earlier stage) runs dist/ as
// it is instead of failing for want of `tsc`.

let root = '';

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'production-start-'));
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as {
    scripts: Record<string, string>;
  };
  // The build stand-in writes both entry points, saying it was the build.
  pkg.scripts.build = 'node fake-build.cjs';
  await writeFile(
    path.join(root, 'fake-build.cjs'),
    `const fs = require('node:fs');
fs.mkdirSync('dist/entrypoints', { recursive: true });
for (const name of ['local-server', 'chat']) {
  fs.writeFileSync(\`dist/entrypoints/\${name}.js\`,
    \`console.log('built \${name}', process.argv.slice(2).join(' '))\`);
}
`,
  );
  await writeFile(path.join(root, 'package.json'), JSON.stringify(pkg));
  await cp('scripts', path.join(root, 'scripts'), { recursive: true });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A dist/ from an earlier build stage. */
async function prebuilt(): Promise<void> {
  await mkdir(path.join(root, 'dist/entrypoints'), { recursive: true });
  for (const name of ['local-server', 'chat']) {
    await writeFile(
      path.join(root, `dist/entrypoints/${name}.js`),
      `console.log('prebuilt ${name}', process.argv.slice(2).join(' '))`,
    );
  }
}

/** What a dev install adds: the TypeScript compiler, resolvable from the package. */
async function installCompiler(): Promise<void> {
  const dir = path.join(root, 'node_modules/typescript');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'typescript' }));
}

function npm(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('npm', ['--silent', ...args], {
    cwd: root,
    // Not the test run's own npm_* variables: a clean npm, as on a server.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('npm start and npm run chat', () => {
  it('run the existing dist/ without the compiler (npm ci --omit=dev)', async () => {
    await prebuilt();
    const start = await npm(['start']);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('prebuilt local-server');
    const chat = await npm(['run', 'chat', '--', '--version']);
    expect(chat.code).toBe(0);
    expect(chat.stdout).toContain('prebuilt chat --version');
  });

  it('compile first where the compiler is installed, so dist/ is never stale', async () => {
    await prebuilt();
    await installCompiler();
    const start = await npm(['start']);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('built local-server');
    expect(start.stdout).not.toContain('prebuilt');
    const chat = await npm(['run', 'chat', '--', '--version']);
    expect(chat.stdout).toContain('built chat --version');
  });

  it('say what to do when there is neither dist/ nor a compiler', async () => {
    const start = await npm(['start']);
    expect(start.code).not.toBe(0);
    expect(start.stderr).toContain('dist/entrypoints/local-server.js is missing');
    expect(start.stderr).toContain('npm run build');
  });
});
