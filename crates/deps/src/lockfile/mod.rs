//! Lockfile parsers: npm (`package-lock.json`, `npm-shrinkwrap.json` v1-v3), yarn (v1 and
//! berry), pnpm (`pnpm-lock.yaml` 5.x, 6.x, 9.x). Every dependency knows its line.
