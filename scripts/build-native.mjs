#!/usr/bin/env node
// Builds tei-router's Node-API addon (binding.gyp -> build/Release/tei_router_native.node).
// Run by npm's `install` lifecycle, or directly: `node scripts/build-native.mjs`.
//
// Never downloads anything: node-gyp always gets --nodedir=<this node's prefix>
// (headers in <prefix>/include/node). The addon is optional: when it cannot be
// built, one line goes to stderr and the script exits 0, so the install goes on
// and src/native/ uses its pure-JS twins.
//
// Environment:
//   TEI_ROUTER_SKIP_NATIVE=1     do not build (exit 0).
//   TEI_ROUTER_REQUIRE_NATIVE=1  a failed build fails the install (exit 1).
//   TEI_ROUTER_NATIVE_VERBOSE=1  stream node-gyp's output instead of capturing it.
// The full node-gyp output of a failed build is kept in build/native-build.log.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PREFIX = 'tei-router:';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const required = process.env.TEI_ROUTER_REQUIRE_NATIVE === '1';
const verbose = process.env.TEI_ROUTER_NATIVE_VERBOSE === '1';
const addonFile = path.join(root, 'build', 'Release', 'tei_router_native.node');
const logFile = path.join(root, 'build', 'native-build.log');

function fail(reason) {
  const tail = required ? 'TEI_ROUTER_REQUIRE_NATIVE=1, so this is fatal' : 'the pure-JS path will be used';
  process.stderr.write(`${PREFIX} native addon build failed (${reason}); ${tail}\n`);
  process.exit(required ? 1 : 0);
}

function findNodeGyp() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    // not installed locally (e.g. production install without devDependencies)
  }
  const candidates = [
    process.env.npm_config_node_gyp, // set by npm for lifecycle scripts
    path.join(
      path.dirname(process.execPath),
      '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    ),
  ];
  return candidates.find((p) => p && existsSync(p)) ?? null;
}

function hasCompiler() {
  if (process.platform === 'win32') return true; // node-gyp finds MSVC itself
  const names = [process.env.CXX, 'c++', 'g++', 'clang++'].filter(Boolean);
  return names.some((cxx) => {
    const res = spawnSync(cxx, ['--version'], { stdio: 'ignore', shell: false });
    return !res.error && res.status === 0;
  });
}

/** The most useful single line of a failed node-gyp run. */
function summarize(output) {
  const lines = output.split('\n').map((l) => l.trim());
  const pick =
    lines.find((l) => /\berror\b:/i.test(l) && !l.startsWith('gyp')) ??
    lines.find((l) => l.startsWith('gyp ERR! stack Error:'))?.replace('gyp ERR! stack ', '') ??
    lines.find(
      (l) => l.startsWith('gyp ERR!') && !/ (cwd|node -v|node-gyp -v|command|System|not ok)\b/.test(l),
    );
  return pick ? pick.replace(/\s+/g, ' ').slice(0, 300) : 'node-gyp failed';
}

if (process.env.TEI_ROUTER_SKIP_NATIVE === '1') {
  process.stdout.write(`${PREFIX} native addon build skipped (TEI_ROUTER_SKIP_NATIVE=1)\n`);
  process.exit(0);
}

const nodedir = path.resolve(process.execPath, '../..');
if (!existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) {
  fail(`Node headers not found in ${path.join(nodedir, 'include', 'node')}`);
}
const nodeGyp = findNodeGyp();
if (!nodeGyp) fail('node-gyp not found');
if (!hasCompiler()) fail('no C++ compiler found; set CXX or install g++/clang++');

const res = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`], {
  cwd: root,
  env: { ...process.env, npm_config_nodedir: nodedir },
  stdio: verbose ? 'inherit' : 'pipe',
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
});
const output = verbose ? '' : `${res.stdout ?? ''}\n${res.stderr ?? ''}`;

if (res.error || res.status !== 0) {
  let reason = res.error ? res.error.message : summarize(output);
  if (!verbose) {
    try {
      mkdirSync(path.dirname(logFile), { recursive: true });
      writeFileSync(logFile, output);
      reason += `; log: ${path.relative(process.cwd(), logFile) || logFile}`;
    } catch {
      // best effort
    }
  }
  fail(reason);
}
if (!existsSync(addonFile)) fail(`node-gyp succeeded but ${addonFile} is missing`);

// Smoke-load it now, so a broken binary is reported at install time.
try {
  const addon = require(addonFile);
  for (const name of ['l2NormalizeRows', 'parseF32Rows', 'formatF32Rows', 'quantizeRows']) {
    if (typeof addon[name] !== 'function') fail(`built addon lacks ${name}`);
  }
} catch (err) {
  fail(`built addon failed to load: ${String(err?.message ?? err).split('\n', 1)[0]}`);
}

process.stdout.write(`${PREFIX} native addon built (${path.relative(root, addonFile)})\n`);
