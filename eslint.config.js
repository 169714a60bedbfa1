// Lint rules for kata-cc (see ../shared/CONVENTIONS.md §4.2). Type-aware, strict.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layerBans = {
  'src/lib': ['#src/*', '#guest/*', '#attestation/*', '#native/*'],
  'src/protocol': ['#src/host/*', '#src/rego/*', '#src/oci/*', '#guest/*', '#attestation/*'],
  'src/rego': [
    '#src/host/*',
    '#src/protocol/*',
    '#src/oci/*',
    '#src/tee/*',
    '#guest/*',
    '#attestation/*',
  ],
  'src/oci': ['#src/host/*', '#src/protocol/*', '#src/rego/*', '#guest/*', '#attestation/*'],
  'src/tee': [
    '#src/host/*',
    '#src/protocol/*',
    '#src/rego/*',
    '#src/oci/*',
    '#guest/*',
    '#attestation/*',
  ],
  'src/host': ['#guest/*', '#attestation/*'],
  guest: ['#src/host/*', '#attestation/*'],
  attestation: ['#src/host/*', '#guest/*'],
};

export default tseslint.config(
  {
    ignores: [
      'eslint.config.js',
      'node_modules/',
      'dist/',
      '.cache/',
      '**/generated/**',
      'native/build/',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-unnecessary-condition': [
        'error',
        { allowConstantLoopConditions: true },
      ],
      'no-console': 'error',
      // a subclass constructor that narrows `code` to its union is the error convention
      '@typescript-eslint/no-useless-constructor': 'off',
      'no-eval': 'error',
      'no-new-func': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'use named exports' },
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'read the environment only in src/lib/env.ts',
        },
        {
          selector: "Property[key.name='shell'][value.value=true]",
          message: 'spawn with an argv array, never shell: true',
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'child_process',
              importNames: ['exec', 'execSync'],
              message: 'use spawn with argv',
            },
            {
              name: 'node:child_process',
              importNames: ['exec', 'execSync'],
              message: 'use spawn with argv',
            },
          ],
        },
      ],
    },
  },
  ...Object.entries(layerBans).map(([dir, group]) => ({
    files: [`${dir}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'child_process',
              importNames: ['exec', 'execSync'],
              message: 'use spawn with argv',
            },
            {
              name: 'node:child_process',
              importNames: ['exec', 'execSync'],
              message: 'use spawn with argv',
            },
          ],
          patterns: [{ group, message: `layering: ${dir} may not import this (DESIGN.md §3)` }],
        },
      ],
    },
  })),
  {
    files: ['src/lib/env.ts', '**/main.ts', 'test/**/*.ts', '*.config.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'use named exports' },
      ],
    },
  },
  {
    files: ['**/main.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['*.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
