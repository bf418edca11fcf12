/** The shared retry budget: retries stay within 20% of calls (plus a small allowance); what is worth retrying. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RETRY_ALLOWANCE,
  RETRY_BUDGET_SLOTS,
  RetryBudget,
  retriable,
} from '../../../src/backend/retry-budget.js';
import { BackendError } from '../../../src/backend/errors.js';
import { TeiError } from '../../../src/tei/errors.js';

describe('retry budget', () => {
  it('allows the allowance, then one retry per five calls', () => {
    const b = new RetryBudget(new Int32Array(new SharedArrayBuffer(RETRY_BUDGET_SLOTS * 4)));
    let granted = 0;
    for (let i = 0; i < 100; i++) if (b.take()) granted++;
    assert.equal(granted, RETRY_ALLOWANCE, 'with no calls made, only the allowance');
    for (let i = 0; i < 50; i++) b.call();
    for (let i = 0; i < 100; i++) if (b.take()) granted++;
    assert.equal(granted, RETRY_ALLOWANCE + 10, '50 calls add 10 retries');
  });

  it('retries unreachable, timed-out and overloaded backends, not TEI validation errors', () => {
    assert.ok(
      retriable(new BackendError('ROUTER_ERR_BACKEND_UNAVAILABLE', 'http://b', 'refused')),
      'unavailable',
    );
    assert.ok(retriable(new BackendError('ROUTER_ERR_BACKEND_TIMEOUT', 'http://b', 'slow')), 'timeout');
    assert.ok(retriable(new TeiError('Overloaded', 'Model is overloaded')), 'overloaded');
    assert.ok(!retriable(new TeiError('Validation', 'too long')), 'validation');
    assert.ok(
      !retriable(new BackendError('ROUTER_ERR_BACKEND_PROTOCOL', 'http://b', 'bad body')),
      'protocol',
    );
  });
});
