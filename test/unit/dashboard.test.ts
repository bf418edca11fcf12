/** docs/grafana-dashboard.json queries only metrics the router exports (a renamed metric breaks this test). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createMetrics } from '../../src/metrics.js';

describe('Grafana dashboard', () => {
  it('every tei_router_* series in its queries is exported', async () => {
    const dash = JSON.parse(
      readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8'),
    ) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const exported = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set<string>();
    for (const p of dash.panels) {
      for (const t of p.targets) {
        for (const m of t.expr.matchAll(/tei_router_\w+/g))
          used.add(m[0].replace(/_(bucket|sum|count)$/, ''));
      }
    }
    assert.ok(used.size >= 20, `the dashboard queries ${used.size} metrics`);
    const missing = [...used].filter((n) => !exported.has(n));
    assert.deepEqual(missing, [], `queried but not exported: ${missing.join(', ')}`);
  });
});
