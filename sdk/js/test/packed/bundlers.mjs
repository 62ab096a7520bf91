// The bundlers under uni-app (Vite; webpack for Vue 2) and Taro (webpack 5, or Vite): each
// bundles the installed package, as an ES module importer and as a CommonJS one, and the output
// must run in a realm without `require` or `crypto` and sign like Node's own HMAC-SHA256.
//   node bundlers.mjs APP_DIR OUT_DIR   (APP_DIR has node_modules/miniguard-sdk from the tarball)
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import nodeCrypto from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [appDir, outDir] = process.argv.slice(2).map((p) => path.resolve(p));
const KEY = new Array(32).fill(7);
const PARTS = { method: 'POST', path: '/v1/collections/orders/records', query: 'b=2&a=1', timestamp: 1700000000, nonce: 'AAECAwQFBgcICQoLDA0ODw', body: '{"quantity":2,"note":"你好"}' };
const CALL = `globalThis.__signature = sign(new Uint8Array(${JSON.stringify(KEY)}), ${JSON.stringify(PARTS)});`;

fs.mkdirSync(path.join(appDir, 'bundler-entries'), { recursive: true });
const entries = {
  esm: path.join(appDir, 'bundler-entries', 'esm.mjs'),
  cjs: path.join(appDir, 'bundler-entries', 'cjs.cjs'),
};
fs.writeFileSync(entries.esm, `import { sign } from 'miniguard-sdk';\n${CALL}\n`);
fs.writeFileSync(entries.cjs, `const { sign } = require('miniguard-sdk');\n${CALL}\n`);

const expected = (() => {
  const sdk = require(path.join(appDir, 'node_modules', 'miniguard-sdk'));
  const canonical = sdk.canonicalRequest(PARTS);
  return nodeCrypto.createHmac('sha256', Buffer.from(KEY)).update(canonical).digest('base64url');
})();

function runIsolated(file) {
  const context = vm.createContext({ console });
  const code = fs.readFileSync(file, 'utf8');
  // Vite's library output is CommonJS (exports), webpack's is a script.
  const module = { exports: {} };
  context.module = module;
  context.exports = module.exports;
  vm.runInContext(code, context, { filename: file });
  return context.__signature;
}

async function viteBuild(name, entry) {
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: appDir,
    logLevel: 'warn',
    build: {
      lib: { entry, formats: ['cjs'], fileName: () => name + '.js' },
      outDir,
      emptyOutDir: false,
      minify: true,
    },
  });
  return path.join(outDir, name + '.js');
}

function webpackBuild(name, entry) {
  const webpack = require('webpack');
  return new Promise((resolve, reject) => {
    webpack(
      { mode: 'production', target: ['web', 'es2017'], context: appDir, entry, output: { path: outDir, filename: name + '.js' } },
      (err, stats) => {
        if (err) return reject(err);
        if (stats.hasErrors()) return reject(new Error(stats.toString('errors-only')));
        return resolve(path.join(outDir, name + '.js'));
      }
    );
  });
}

let failed = 0;
for (const [name, build] of [
  ['vite-esm', () => viteBuild('vite-esm', entries.esm)],
  ['vite-cjs', () => viteBuild('vite-cjs', entries.cjs)],
  ['webpack-esm', () => webpackBuild('webpack-esm', entries.esm)],
  ['webpack-cjs', () => webpackBuild('webpack-cjs', entries.cjs)],
]) {
  try {
    const got = runIsolated(await build());
    if (got !== expected) throw new Error('signature ' + got + ', expected ' + expected);
    console.log('ok - ' + name + ': bundled, ran without require, signed as Node does');
  } catch (e) {
    failed += 1;
    console.log('not ok - ' + name + ': ' + (e && e.message ? e.message : e));
  }
}
console.log(`bundlers: ${4 - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
