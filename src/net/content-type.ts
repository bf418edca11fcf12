/** axum's JSON content-type rule: `application/json` or any `application/*+json`, parameters allowed. */
export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const mime = value.split(';')[0].trim().toLowerCase();
  if (!mime.startsWith('application/')) return false;
  const sub = mime.slice('application/'.length);
  return sub === 'json' || sub.endsWith('+json');
}
