#!/usr/bin/env bash
# CI for the JavaScript SDK: install its development dependencies, check that the committed
# build (miniprogram/index.js) matches src/, check the types with tsc, run the tests with Node's
# own runner, then the packed-build test (npm pack -> sample mini-program -> WeChat's packNpm
# -> a real `miniguard serve --dev`, see test/packed/run.sh).
# The optional live test of `npm test` runs only when MINIGUARD_URL is set (see README.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
node --version
npm install --no-audit --no-fund
node build.js --check
npm run --silent types
npm test
bash test/packed/run.sh
