import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { errorCatalogue, RouterError } from '../../src/errors.js';

it('every error code is documented in the README with its meaning', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const code of Object.keys(errorCatalogue)) {
    assert.match(
      readme,
      new RegExp(`^\\| \`${code}\` \\| .+ \\|$`, 'm'),
      `${code} is not in the README table`,
    );
  }
  const documented = [...readme.matchAll(/^\| `(ROUTER_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(
    documented.sort(),
    Object.keys(errorCatalogue).sort(),
    'README lists codes that do not exist',
  );
});

it('RouterError carries the code and its kind', () => {
  const e = new RouterError('ROUTER_ERR_CLI_BAD_VALUE', 'x');
  assert.equal(e.code, 'ROUTER_ERR_CLI_BAD_VALUE');
  assert.equal(e.kind, 'invalid_argument');
});
