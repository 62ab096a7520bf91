#!/usr/bin/env bash
# CI for the JavaScript SDK: install its dependencies and run its tests with Node's own runner.
# The optional live test runs only when MINIGUARD_URL is set (see README.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
node --version
npm install --no-audit --no-fund
npm test
