'use strict';
// WeChat's own npm build ("Tools -> Build npm" of the developer tools), from miniprogram-ci:
// packs the mini-program's dependencies into miniprogram_npm/.
//   node packnpm.js PROJECT_DIR
// Offline: packNpm reads project.config.json and node_modules only. miniprogram-ci insists on
// an upload key even for packNpm, which never uses it, so a placeholder is passed.

const path = require('node:path');
const ci = require('miniprogram-ci');

async function main() {
  const projectPath = path.resolve(process.argv[2] || '.');
  const config = require(path.join(projectPath, 'project.config.json'));
  const project = new ci.Project({
    appid: config.appid,
    type: 'miniProgram',
    projectPath,
    privateKey: 'unused: packNpm does not upload',
    ignores: ['node_modules/**/*'],
  });
  let report = null;
  const warnings = await ci.packNpm(project, {
    reporter: (r) => {
      report = r;
    },
  });
  console.log('packNpm: ' + JSON.stringify(report));
  if (warnings && warnings.length) {
    for (const w of warnings) console.error('packNpm warning: ' + w.msg + ' (' + w.jsPath + ':' + w.startLine + ')');
    process.exit(1);
  }
}

main().catch((e) => {
  console.error('packNpm failed: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
