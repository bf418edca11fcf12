/**
 * Finding a model's tokenizer.json in the local HuggingFace hub cache (as `huggingface-cli download` or TEI's
 * own download left it): `<cache>/models--<org>--<name>/snapshots/<revision>/tokenizer.json`. The cache is
 * `$HF_HUB_CACHE`, else `$HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
 * Nothing is downloaded.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export function hfCacheDir(env: Record<string, string | undefined> = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  if (env.HF_HOME) return path.join(env.HF_HOME, 'hub');
  return path.join(homedir(), '.cache', 'huggingface', 'hub');
}

/** The newest snapshot's tokenizer.json for the first of `modelIds` that has one, or undefined. */
export function findCachedTokenizer(
  modelIds: readonly string[],
  cacheDir = hfCacheDir(),
): string | undefined {
  for (const id of modelIds) {
    if (!/^[\w.-]+(\/[\w.-]+)?$/.test(id)) continue;
    const snapshots = path.join(cacheDir, `models--${id.replace('/', '--')}`, 'snapshots');
    if (!existsSync(snapshots)) continue;
    const candidates = readdirSync(snapshots)
      .map((rev) => path.join(snapshots, rev, 'tokenizer.json'))
      .filter((f) => existsSync(f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    if (candidates.length > 0) return candidates[0];
  }
  return undefined;
}
