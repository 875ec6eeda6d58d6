// Imported first by the CLI entry, before graphql-js loads: graphql-js decides at load time whether to run its
// development-mode checks (an extra `instanceof` walk on every type lookup), and so do other libraries.
// An explicit NODE_ENV (jest sets `test`; `NODE_ENV=development dpod-audit serve`) is kept.
process.env.NODE_ENV ??= 'production';

export {};
