// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**', 'eslint.config.mjs', 'jest.config.js'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/src/**', '../../src/*', 'src/*'], message: 'Libs never import from src/.' }, { group: ['@app/*/*'], message: 'Import a lib by its root alias only.' }] }],
    },
  },
  {
    // The foundation and the transport libs below the WebSocket kit never import it.
    files: ['libs/core/**/*.ts', 'libs/relay/**/*.ts', 'libs/history/**/*.ts', 'libs/protocol/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: '@app/ws', message: 'Only the WebSocket layers import @app/ws; shared types live in @app/core.' }], patterns: [{ group: ['**/src/**', '../../src/*', 'src/*'], message: 'Libs never import from src/.' }, { group: ['@app/*/*'], message: 'Import a lib by its root alias only.' }] }] },
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['@app/*/*', '**/libs/*/src/**'], message: 'Import a lib by its root alias only.' }] }] },
  },
  {
    // Tests read untyped wire data (supertest bodies, frames): asserting on it is their job.
    files: ['test/**/*.ts', '**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
