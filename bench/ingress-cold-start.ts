import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { ZIP_BUNDLE } from '../infra/lib/bundling.js';
import { INGRESS_ENTRY, TSCONFIG } from '../infra/lib/paths.js';
import { formatBytes, formatMs, median, printTable } from './report.js';

/**
 * The ingress Lambda's share of a cold start that depends on us: loading
 * its bundle. Builds the bundle exactly as `cdk synth` does (the options in
 * infra/lib/bundling.ts), then imports it in fresh Node processes, with and
 * without `--enable-source-maps`, and prints the median import time and
 * which packages make up the bundle. (Lambda adds its own init, roughly
 * constant, before this; a fresh process here has a cold module cache but a
 * warm file cache, like a Lambda whose code is already on the host.)
 */

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const run = promisify(execFile);

export async function ingressColdStart(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-ingress-bundle-'));
  try {
    const outfile = path.join(dir, 'index.mjs');
    const result = await build({
      entryPoints: [INGRESS_ENTRY],
      outfile,
      bundle: true,
      format: ZIP_BUNDLE.format,
      platform: ZIP_BUNDLE.platform,
      target: ZIP_BUNDLE.target,
      mainFields: [...ZIP_BUNDLE.mainFields],
      minify: ZIP_BUNDLE.minify,
      banner: { js: ZIP_BUNDLE.banner },
      tsconfig: TSCONFIG,
      // Built with a map so the cost of loading one can be measured too.
      sourcemap: true,
      sourcesContent: false,
      metafile: true,
      logLevel: 'silent',
    });
    const size = (await stat(outfile)).size;
    const mapSize = (await stat(`${outfile}.map`)).size;

    const importMs = async (flags: string[]): Promise<number> => {
      const script = `const t = performance.now(); await import(${JSON.stringify(outfile)}); process.stdout.write(String(performance.now() - t));`;
      const { stdout } = await run(
        process.execPath,
        [...flags, '--input-type=module', '--eval', script],
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AWS_REGION: 'us-east-1' } },
      );
      return Number(stdout);
    };
    const plain: number[] = [];
    const withMaps: number[] = [];
    // Interleaved, so whatever else the machine does affects both alike; one untimed run each first.
    await importMs([]);
    await importMs(['--enable-source-maps']);
    for (let i = 0; i < RUNS; i++) {
      plain.push(await importMs([]));
      withMaps.push(await importMs(['--enable-source-maps']));
    }

    printTable(
      `Ingress bundle: import time in a fresh process, median of ${RUNS}`,
      ['NODE_OPTIONS', 'import', 'bundle'],
      [
        ['(none, as deployed)', formatMs(median(plain)), formatBytes(size)],
        ['--enable-source-maps', formatMs(median(withMaps)), `+ ${formatBytes(mapSize)} map`],
      ],
    );
    const packages = packageShares(result.metafile, outfile);
    printTable(
      'Ingress bundle by package (minified bytes)',
      ['package', 'bytes', 'share'],
      packages
        .slice(0, 8)
        .map(([name, bytes]) => [
          name,
          formatBytes(bytes),
          `${((bytes / size) * 100).toFixed(0)} %`,
        ]),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Bytes in the output per npm package (`src` for our own code), largest first. */
function packageShares(metafile: Metafile, outfile: string): Array<[string, number]> {
  const output = Object.entries(metafile.outputs).find(([file]) =>
    outfile.endsWith(path.basename(file)),
  )?.[1];
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const name = match?.[1] ?? 'src (this repository)';
    totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
}
