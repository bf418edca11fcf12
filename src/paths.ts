/** Where the package's own files are, whether this code runs from src/ (tsx) or dist/ (compiled). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) || !existsSync(path.join(dir, 'proto'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`tei-router: cannot find the package root above ${import.meta.url}`);
    dir = parent;
  }
  root = dir;
  return dir;
}

export function protoDir(): string {
  return path.join(packageRoot(), 'proto');
}
