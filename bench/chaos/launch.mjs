// `npm run chaos -- --profile short|soak`: builds the application when dist/ is older than src/ (the components
// run as `inventory-sync worker|server|emulator` from dist, as deployed), compiles the harness with rolldown (a
// pinned dev dependency, as the test fixtures do) and runs it with the same arguments.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function newest(dir) {
  let t = 0;
  for (const f of readdirSync(join(ROOT, dir), { recursive: true })) {
    const s = statSync(join(ROOT, dir, String(f)));
    if (s.isFile()) t = Math.max(t, s.mtimeMs);
  }
  return t;
}

const bundle = join(ROOT, 'dist/workers/workflow-bundle.js');
// CHAOS_SKIP_BUILD=1: the knob tests, which stop before anything starts.
if (process.env.CHAOS_SKIP_BUILD !== '1' && (!existsSync(bundle) || statSync(bundle).mtimeMs < newest('src'))) {
  process.stderr.write('chaos: dist/ is older than src/; running npm run build\n');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
}

// One directory per run: two runs (or a run and the knob tests) never overwrite each other's build.
const outDir = join(ROOT, `node_modules/.cache/inventory-sync-chaos/${process.pid}`);
mkdirSync(outDir, { recursive: true });
await build({
  input: join(ROOT, 'bench/chaos/main.ts'),
  platform: 'node',
  external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
  output: { dir: outDir, format: 'esm', preserveModules: true, preserveModulesRoot: ROOT, entryFileNames: '[name].mjs' },
  logLevel: 'silent',
});
const child = spawn(process.execPath, [join(outDir, 'bench/chaos/main.mjs'), ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, CHAOS_ROOT: ROOT } });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  rmSync(outDir, { recursive: true, force: true });
  process.exit(code ?? (signal ? 1 : 0));
});
