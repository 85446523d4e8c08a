// A small config: the recommended rules of ESLint and typescript-eslint, and the few that fit
// this codebase's habits. Formatting is Prettier's job (npm run lint checks both).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'test-artifacts/', 'dist/', 'dist.*/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: globals.node },
    rules: {
      // Unused names are dead code; a leading underscore marks a parameter kept for its position.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-constant-condition': ['error', { checkLoops: false }],
      // A variable a closure reads before its one assignment (a worker started after the app) stays let.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Lines stay within 120; Prettier wraps code, but cannot split a string, a regex or a URL.
      'max-len': [
        'error',
        { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
      // Input checks match control characters on purpose: to refuse them.
      'no-control-regex': 'off',
    },
  },
  {
    // A function a reader can hold in their head: split a longer one into named steps. Tests and
    // benchmarks read as scripts and are left out.
    files: ['src/**', 'scripts/**'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
);
