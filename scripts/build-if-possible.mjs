// `prestart` / `prechat`: compile src/ to dist/ when the TypeScript compiler
// is installed, else run dist/ as it is.
//
// Usage: node scripts/build-if-possible.mjs <the built entry point to run>
//
// In a checkout (`npm ci && npm start`) the compiler is a dev dependency, so
// every start compiles and dist/ is never stale. After `npm ci --omit=dev`
// (a container whose dist/ came from an earlier build stage) there is no
// compiler: the start must not fail for want of one, only for want of dist/.
// Plain JavaScript on purpose: it has to run where tsx is not installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const entry = process.argv[2];
if (!entry) {
  process.stderr.write('usage: build-if-possible.mjs <built entry point>\n');
  process.exit(2);
}

function compilerInstalled() {
  try {
    createRequire(path.resolve('package.json')).resolve('typescript/package.json');
    return true;
  } catch {
    return false;
  }
}

if (compilerInstalled()) {
  // npm_execpath: the npm that runs this script, whatever is on the PATH.
  const npm = process.env.npm_execpath;
  const build = npm
    ? spawnSync(process.execPath, [npm, 'run', '--silent', 'build'], { stdio: 'inherit' })
    : spawnSync('npm', ['run', '--silent', 'build'], {
        stdio: 'inherit',
        shell: process.platform === 'win32',
      });
  process.exit(build.status ?? 1);
}
if (!existsSync(entry)) {
  process.stderr.write(
    `${entry} is missing and TypeScript is not installed (npm ci --omit=dev?): ` +
      'build first with `npm ci && npm run build`\n',
  );
  process.exit(1);
}
