'use strict';
// Builds a mini-program with WeChat's own compiler and packer (miniprogram-ci), offline, for
// the package round-trip test (crates/cli/tests/wxapkg_roundtrip.rs).
//
//   node build.js PROJECT_DIR OUT_DIR SETTING_JSON
//
// PROJECT_DIR holds project.config.json (its miniprogramRoot is compiled); SETTING_JSON is
// miniprogram-ci's compile setting (`{"useProjectConfig": true}` for the project's own,
// `{"es6": true, "minify": true}`, ...). Writes:
//   OUT_DIR/tree/...            the compiled files, as the compiler returns them;
//   OUT_DIR/__APP__.wxapkg      those files packed by miniprogram-ci's own packer, the package
//                               its `upload` sends (the compiled files and their source maps).
// Prints, as its last line of output (miniprogram-ci logs on the same stream), one JSON line:
// {"files": [...names...]}.
//
// Offline: the compile is local, but miniprogram-ci asks its service for two things it does
// not need here. The project's attributes (limits and flags for the appid) come from the
// `attr` hook of the project options, filled with the defaults miniprogram-ci itself falls back
// to; the list of allowed file extensions falls back to the built-in list when the request
// fails. Every request it makes goes through a proxy on a closed port of this machine
// (127.0.0.1:9, here and in the compiler's own subprocess, through the environment), so
// nothing leaves the machine even where a network is reachable. No key is needed: nothing is
// uploaded, and the `privateKey` the project options insist on is never used.

const fs = require('node:fs');
const path = require('node:path');

const CLOSED = 'http://127.0.0.1:9';
for (const v of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) process.env[v] = CLOSED;
for (const v of ['NO_PROXY', 'no_proxy']) delete process.env[v];

const ci = require('miniprogram-ci');
// The packer `upload` uses (not exported from the package's index).
const { pack } = require('miniprogram-ci/dist/ci/utils/pack');

async function main() {
  const [projectArg, outArg, settingArg] = process.argv.slice(2);
  if (!projectArg || !outArg || !settingArg) {
    throw new Error('usage: node build.js PROJECT_DIR OUT_DIR SETTING_JSON');
  }
  ci.proxy(CLOSED);
  const projectPath = path.resolve(projectArg);
  const out = path.resolve(outArg);
  const config = JSON.parse(fs.readFileSync(path.join(projectPath, 'project.config.json'), 'utf8'));
  const project = new ci.Project({
    appid: config.appid,
    type: 'miniProgram',
    projectPath,
    privateKey: 'unused: nothing is uploaded',
    attr: async () => ci.DefaultProjectAttr,
    ignores: ['node_modules/**/*'],
  });
  const files = await ci.getCompiledResult({
    project,
    setting: JSON.parse(settingArg),
    includedMap: true,
  });
  const names = Object.keys(files).sort();
  if (!names.includes('app.json')) throw new Error('the compiler made no app.json: ' + names.join(', '));
  for (const name of names) {
    const dest = path.join(out, 'tree', name);
    if (!dest.startsWith(path.join(out, 'tree') + path.sep)) throw new Error('unsafe name ' + name);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, files[name]);
  }
  fs.writeFileSync(path.join(out, '__APP__.wxapkg'), pack(files).buffer);
  console.log(JSON.stringify({ files: names }));
}

main().then(
  // The compiler keeps a subprocess and timers alive: end when the work is done.
  () => process.exit(0),
  (e) => {
    console.error('build failed: ' + (e && e.stack ? e.stack : e));
    process.exit(1);
  },
);
