/**
 * Splits a backend batch's reported token total over its rows, in proportion to the router's own per-row counts
 * (largest remainders), so that the rows of any one batch sum exactly to what the backend reported.
 */
export function apportion(
  out: Int32Array,
  weights: Int32Array,
  rows: readonly number[],
  total: number,
): void {
  let sum = 0;
  for (const r of rows) sum += weights[r];
  let assigned = 0;
  const remainders: Array<[number, number]> = [];
  for (const r of rows) {
    const exact = sum > 0 ? (weights[r] * total) / sum : total / rows.length;
    const whole = Math.floor(exact);
    out[r] = whole;
    assigned += whole;
    remainders.push([exact - whole, r]);
  }
  remainders.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; k < total - assigned; k++) out[remainders[k % remainders.length][1]]++;
}
