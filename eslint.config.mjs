// ESLint flat config: typescript-eslint's type-checked recommended rules over every TypeScript file.
// Formatting is Prettier's (`prettier --check .` in `npm run lint`), so no stylistic rules here.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test-output/', 'coverage/', 'bench/out/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
      },
    },
    // The bin shim and jest's config are CommonJS files run by Node as they are.
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
  {
    // Migrations are frozen history (STYLE.md): `up`/`down` take `Kysely<any>`, never the app's `Database`, which
    // describes the latest schema and would change under an old migration. That `any` is the only exception.
    files: ['migrations/2*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
