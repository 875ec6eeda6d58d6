#!/usr/bin/env node
'use strict';
// The package's bin: runs the compiled CLI (built by `npm run build`, which `npm ci` runs via `prepare`).
require('../dist/src/cli.js').run();
