// Runs every test file under test/ with node's test runner (Node 20 expands no quoted globs, so the list is built
// here). `--js-path` runs them with TEI_ROUTER_NATIVE=0 (the pure-JS twins of the native addon); other arguments
// are passed to node --test (e.g. --test-name-pattern). Exit code is the runner's.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name !== 'fixtures' && name !== 'helpers') out.push(...collect(full));
    } else if (name.endsWith('.test.ts')) {
      out.push(full);
    }
  }
  return out;
}

const jsPath = process.argv.includes('--js-path');
const passed = process.argv.slice(2).filter((a) => a !== '--js-path');
// (the tests that compare the addon with its twins skip then: TEI_ROUTER_REQUIRE_NATIVE applies to the native pass)
const env = jsPath ? { ...process.env, TEI_ROUTER_NATIVE: '0', TEI_ROUTER_REQUIRE_NATIVE: '' } : process.env;
if (jsPath) console.log('tei-router tests: TEI_ROUTER_NATIVE=0 (pure-JS path)');
const files = collect('test');
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', ...passed, ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env });
process.exit(result.status ?? 1);
