#!/bin/sh
# Installs the backend's npm packages (sql.js: SQLite compiled to WebAssembly; mysql2) once,
# exactly as pinned in package-lock.json.
set -e
cd "$(dirname "$0")"
if [ ! -d node_modules/sql.js ] || [ ! -d node_modules/mysql2 ]; then
  npm ci --no-audit --no-fund --silent
fi
