// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
// I/O modules that must never be imported by deterministic workflow code.
const ioModules = ['pg', 'ioredis', 'fastify', 'pino', '@shopify/admin-api-client', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'node-pg-migrate', 'yaml', 'prom-client'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, ...ioModules].map((name) => ({ name, message: 'workflow code is deterministic: do I/O in an activity' })),
          patterns: [
            {
              group: ['**/activities/*', '**/db/*', '**/redis/*', '**/shopify/*', '**/runtime/*', '**/starters/*', '**/guard/*', '**/sources/*', '**/observability/*'],
              message: 'workflow code is deterministic: only `import type` from modules that do I/O',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // Tests poke at raw GraphQL and webhook JSON; `any` there is a deliberate shortcut, not a type hole in the product.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
