//! Third-party code that ships inside the tree: `miniprogram_npm/<name>` packages and library
//! files copied by hand (`utils/crypto-js.js`, `libs/lodash.min.js`).
