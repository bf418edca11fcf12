/** TEI's /similarity score: cosine of two f32 vectors, accumulated in f64, rounded to f32 (0 for a zero vector). */
export function cosineF32(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return Math.fround(aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb));
}
