#!/usr/bin/env node
// Runs the compiled CLI; `npm run build` produces dist/.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/starters/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('inventory-sync is not built yet: run "npm run build" (npm start does it for you)\n');
  process.exit(2);
}
const { main } = await import(entry.href);
await main(process.argv);
