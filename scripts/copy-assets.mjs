// tsc compiles TypeScript only; the Lua guard script ships beside its loader.
import { cpSync, readdirSync } from 'node:fs';

for (const file of readdirSync('src/guard')) {
  if (file.endsWith('.lua')) cpSync(`src/guard/${file}`, `dist/guard/${file}`);
}
