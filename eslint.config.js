// Type-aware linting: no-floating-promises and friends catch the async mistakes that matter in a
// server (an unawaited store write is a lost approval).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // dist/ is generated from src/client by scripts/build-client.ts (a test holds them together).
  // test/openapi-client/ is typechecked against a client generated from openapi.yaml only when
  // test/openapi-client.test.ts has generated it.
  { ignores: ['node_modules/', 'data/', 'test-artifacts/', 'coverage/', 'dist/', 'lib/', 'test/openapi-client/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
      }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
