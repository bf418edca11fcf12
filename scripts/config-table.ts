// Prints the README's configuration table from src/config.ts KEYS (run: node --import tsx scripts/config-table.ts).
import { KEYS, envName, flagName } from '../src/config.js';

console.log('| key | environment | flag | default | meaning |');
console.log('|---|---|---|---|---|');
for (const k of KEYS) {
  const def = k.default === undefined ? 'unset' : `\`${k.default}\``;
  console.log(`| \`${k.path}\` | \`${envName(k.path)}\` | \`${flagName(k.path)}\` | ${def} | ${k.doc} |`);
}
