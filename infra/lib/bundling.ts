/**
 * How the zip-packaged Lambdas (ingress, dead-letter consumer) are bundled
 * with esbuild, in plain esbuild terms: `functions.ts` turns these into the
 * CDK's bundling options, and the cold-start benchmark (bench/ingress-cold-start.ts)
 * builds the same bundle with them, so the figure it prints is the deployed one.
 */
export const ZIP_BUNDLE = {
  format: 'esm',
  platform: 'node',
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  // CommonJS dependencies inside an ESM bundle still call require().
  banner:
    "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
} as const;

/**
 * Whether each zip function ships a source map and runs with
 * `--enable-source-maps`. Not the ingress: its errors are logged by name and
 * message, and a map is 1.3 MB more to fetch on each cold start of the
 * function Telegram waits on. (Loading the bundle itself costs the same
 * either way: `npm run bench -- ingress-cold-start` measured ~150 ms with
 * and without the flag on Node 20, the map being parsed only when a stack
 * trace is formatted.) The dead-letter consumer is never waited on, so it
 * keeps readable traces.
 */
export const INGRESS_SOURCE_MAPS = false;
export const DEAD_LETTER_SOURCE_MAPS = true;
