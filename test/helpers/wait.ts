/** Polls `cond` every `everyMs` until it holds or `ms` pass; resolves with its last value (bounded in time). */
export async function until(
  cond: () => boolean | Promise<boolean>,
  ms = 3000,
  everyMs = 25,
): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, everyMs))) {
    if (await cond()) return true;
  }
  return cond();
}
