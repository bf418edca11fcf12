#!/usr/bin/env node
// Runs the native addon's tests (test/unit/native/) against a build of the addon with AddressSanitizer and
// UndefinedBehaviorSanitizer: `npm run test:asan`. Exit code 0 only when the tests pass and no sanitizer reported.
//
// How: binding.gyp and native/ are copied to a temporary directory and built there by node-gyp (against Node's own
// headers, --nodedir, nothing downloaded) with -fsanitize=address,undefined and -fno-sanitize-recover (a UBSan
// finding aborts, so it cannot pass unseen); node then runs the tests with g++'s libasan preloaded (node itself is
// not instrumented, so ASan must come first in the process) and TEI_ROUTER_NATIVE_PATH pointing at that build.
// Leak checking is off: node and V8 keep allocations until exit by design, which LeakSanitizer reports. Linux + g++.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const say = (s) => process.stdout.write(`asan-native: ${s}\n`);

function die(message) {
  process.stderr.write(`asan-native: ${message}\n`);
  process.exit(1);
}

const cxx = process.env.CXX || 'g++';
const lib = spawnSync(cxx, ['-print-file-name=libasan.so'], { encoding: 'utf8' });
const libasan = lib.status === 0 ? lib.stdout.trim() : '';
if (!path.isAbsolute(libasan) || !existsSync(libasan)) {
  die(`${cxx} has no AddressSanitizer runtime (libasan.so); install it with the compiler`);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'tei-router-asan-'));
try {
  cpSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
  cpSync(path.join(root, 'native'), path.join(dir, 'native'), { recursive: true });
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const flags = '-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g';
  const nodedir = path.resolve(process.execPath, '../..');
  say(`building the addon with ${flags}`);
  const build = spawnSync(
    process.execPath,
    [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', `--nodedir=${nodedir}`],
    {
      cwd: dir,
      env: { ...process.env, CFLAGS: flags, CXXFLAGS: flags, LDFLAGS: '-fsanitize=address,undefined' },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (build.status !== 0) die(`node-gyp failed:\n${build.stdout}\n${build.stderr}`);
  const addon = path.join(dir, 'build', 'Release', 'tei_router_native.node');
  const nm = spawnSync('nm', ['-D', addon], { encoding: 'utf8' });
  if (nm.status === 0 && !/__asan_/.test(nm.stdout)) die(`${addon} is not instrumented (no __asan_ symbols)`);

  const tests = readdirSync(path.join(root, 'test', 'unit', 'native'))
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join('test', 'unit', 'native', f));
  say(`running ${tests.join(' ')} with ${libasan} preloaded`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...tests], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: {
      ...process.env,
      LD_PRELOAD: libasan,
      // handle_segv=0: V8 handles its own SIGSEGV (WebAssembly bounds traps)
      ASAN_OPTIONS: 'detect_leaks=0:handle_segv=0:abort_on_error=0:exitcode=86',
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1:exitcode=87',
      TEI_ROUTER_NATIVE_PATH: addon,
      TEI_ROUTER_NATIVE: '1',
      TEI_ROUTER_REQUIRE_NATIVE: '1',
    },
  });
  process.stderr.write(run.stderr ?? '');
  const report = /ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer/.test(
    run.stderr ?? '',
  );
  if (report) die('the sanitizers reported errors (above)');
  if (run.status !== 0) die(`the tests failed (exit ${run.status ?? run.signal})`);
  say('clean: the native tests pass under AddressSanitizer and UndefinedBehaviorSanitizer, no report');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
