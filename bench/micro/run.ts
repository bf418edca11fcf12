/**
 * `npm run bench:micro`: runs every benchmark under bench/micro/ one after another (one process each, so they do not
 * disturb each other) and prints their tables and JSON lines. Each benchmark bounds its own time.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const micro = here;
const files = readdirSync(micro)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n== bench/micro/${f}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(micro, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
