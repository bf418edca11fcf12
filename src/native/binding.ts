/**
 * The ONLY module that loads tei-router's Node-API addon
 * (build/Release/tei_router_native.node, built by scripts/build-native.mjs).
 *
 * It imports nothing from the project, so it can be used from anywhere without
 * creating cycles. It runs both from src/ (via tsx) and from dist/ (compiled),
 * so the binary is located relative to the package root, found by walking up
 * from this file to the first directory containing package.json.
 *
 * Environment:
 *   TEI_ROUTER_NATIVE=0              never load the addon (no warning): pure-JS path.
 *   TEI_ROUTER_NATIVE_PATH=<file>    load this .node file instead of the default
 *                                    build/Release/tei_router_native.node (relative
 *                                    paths resolve against the working directory);
 *                                    handy for prebuilt binaries and for tests.
 *
 * When the addon cannot be loaded, one line is printed to stderr once per process
 * and loadNative() returns null; callers then use the JS twins (./fallback.ts).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's exports. Keep in sync with native/addon.cc. */
export interface NativeAddon {
  /** See l2NormalizeRows in ./fallback.ts (bit-identical twin). */
  l2NormalizeRows(data: Float32Array, dim: number): void;
  /** See parseF32Rows in ./fallback.ts (bit-identical twin). */
  parseF32Rows(
    body: Uint8Array,
    out?: Float32Array,
    rowOffset?: number,
  ): { rows: number; dim: number; vectors: Float32Array };
  /** See formatF32Rows in ./fallback.ts (byte-identical twin). */
  formatF32Rows(data: Float32Array, dim: number): Buffer;
  /** See quantizeRows in ./fallback.ts (byte-identical twin); dtype: 'float16' | 'int8' | 'uint8' | 'binary'. */
  quantizeRows(data: Float32Array, dim: number, dtype: string): Uint8Array;
}

export interface NativeStatus {
  loaded: boolean;
  /** Why the addon is not loaded (absent when loaded). */
  reason?: string;
  /** The .node file that was loaded or tried (absent when disabled). */
  path?: string;
}

const ADDON_RELATIVE_PATH = join('build', 'Release', 'tei_router_native.node');
const REQUIRED_EXPORTS: readonly (keyof NativeAddon)[] = [
  'l2NormalizeRows',
  'parseF32Rows',
  'formatF32Rows',
  'quantizeRows',
];

let cached: { addon: NativeAddon | null; status: NativeStatus } | undefined;

function findPackageRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(start, '..', '..'); // src/native or dist/native
    dir = parent;
  }
}

function addonPath(): string {
  const override = process.env.TEI_ROUTER_NATIVE_PATH;
  if (override) return resolve(override);
  return join(findPackageRoot(), ADDON_RELATIVE_PATH);
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n', 1)[0].trim();
}

function tryLoad(): { addon: NativeAddon | null; status: NativeStatus } {
  if (process.env.TEI_ROUTER_NATIVE === '0') {
    return { addon: null, status: { loaded: false, reason: 'disabled by TEI_ROUTER_NATIVE=0' } };
  }
  const path = addonPath();
  let reason: string;
  if (!existsSync(path)) {
    reason = `${path} not found; run "node scripts/build-native.mjs"`;
  } else {
    try {
      const mod = createRequire(import.meta.url)(path) as Record<string, unknown>;
      const missing = REQUIRED_EXPORTS.filter((name) => typeof mod[name] !== 'function');
      if (missing.length === 0) {
        return { addon: mod as unknown as NativeAddon, status: { loaded: true, path } };
      }
      reason = `${path} lacks export(s) ${missing.join(', ')}; rebuild it`;
    } catch (err) {
      reason = `${path}: ${firstLine(err)}`;
    }
  }
  console.warn(`tei-router: native addon not loaded (${reason}); using the pure-JS path`);
  return { addon: null, status: { loaded: false, reason, path } };
}

function state(): { addon: NativeAddon | null; status: NativeStatus } {
  return (cached ??= tryLoad());
}

/** The addon, or null when disabled or unavailable. Memoised: loads (and warns) at most once. */
export function loadNative(): NativeAddon | null {
  return state().addon;
}

/** Whether the addon is in use, and if not, why. Triggers loading if not done yet. */
export function nativeStatus(): NativeStatus {
  return { ...state().status };
}
