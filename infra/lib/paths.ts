import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the Docker build context and the esbuild project root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const INGRESS_ENTRY = path.join(REPO_ROOT, 'src/entrypoints/aws/ingress-handler.ts');
export const DEAD_LETTER_ENTRY = path.join(REPO_ROOT, 'src/entrypoints/aws/dead-letter-handler.ts');
export const WORKER_ENTRY = path.join(REPO_ROOT, 'src/entrypoints/aws/worker-handler.ts');
export const WORKER_DOCKERFILE = 'Dockerfile.worker';
export const LOCK_FILE = path.join(REPO_ROOT, 'package-lock.json');
export const TSCONFIG = path.join(REPO_ROOT, 'tsconfig.json');
export const DEFAULT_CONFIG_FILE = path.join(REPO_ROOT, 'infra', 'config.json');
