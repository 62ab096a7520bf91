// Drives a miniguard HTML report in headless Chromium the way a person triaging it would:
// the page loads with no error (its Content-Security-Policy lets only its own script run),
// the filters appear, and severity, category, rule, path and text filters each narrow the
// findings shown, with the shown count and the option counts following.
//
//   node .ci/html-check/check.mjs REPORT.html [SCREENSHOT.png]
//
// Chromium is taken from CHROMIUM (default /usr/bin/chromium). Exit 0 when every check holds.
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [report, screenshot] = process.argv.slice(2);
if (!report) {
  console.error('usage: check.mjs REPORT.html [SCREENSHOT.png]');
  process.exit(2);
}
const failures = [];
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(pathToFileURL(path.resolve(report)).href);

  check(errors.length === 0, `no script or policy errors (${errors.join('; ') || 'none'})`);
  check(await page.isVisible('#filters'), 'the filters are shown (the script ran)');
  const total = await page.locator('article.finding').count();
  const shown = async () => Number(await page.textContent('#f-count'));
  const visible = () => page.locator('article.finding:visible');
  check(total > 0 && (await shown()) === total, `all ${total} findings shown at first`);

  // Severity: only critical and high.
  await page.selectOption('#f-sev', 'high');
  const high = await visible().evaluateAll((els) => els.map((e) => e.dataset.severity));
  check(high.every((s) => s === 'high' || s === 'critical') && (await shown()) === high.length,
    `minimum severity high shows ${high.length} high or critical findings`);
  await page.selectOption('#f-sev', 'info');

  // Rule: the option label counts what choosing it shows.
  const options = await page.locator('#f-rule option').evaluateAll((os) =>
    os.map((o) => ({ value: o.value, label: o.textContent })));
  const pick = options.find((o) => o.value !== '');
  await page.selectOption('#f-rule', pick.value);
  const rules = await visible().evaluateAll((els) => els.map((e) => e.dataset.rule));
  const labelCount = Number((pick.label.match(/\((\d+)\)/) || [])[1]);
  check(rules.length > 0 && rules.every((r) => r === pick.value), `rule ${pick.value} shows only its findings`);
  check(labelCount === rules.length, `its option said ${labelCount}, ${rules.length} shown`);
  // With a rule chosen, the category options count only that rule's findings.
  const catLabels = await page.locator('#f-cat option').evaluateAll((os) => os.map((o) => o.textContent));
  const catSum = catLabels.slice(1).reduce((n, l) => n + Number((l.match(/\((\d+)\)/) || [0, 0])[1]), 0);
  check(catSum === rules.length, `category counts follow the rule filter (${catSum} = ${rules.length})`);
  await page.selectOption('#f-rule', '');

  // Path: part of the first finding's path.
  const firstPath = await page.locator('article.finding').first().getAttribute('data-path');
  const part = firstPath.split('/').pop();
  await page.fill('#f-path', part);
  const paths = await visible().evaluateAll((els) => els.map((e) => e.dataset.path));
  check(paths.length > 0 && paths.every((p) => p.toLowerCase().includes(part.toLowerCase())),
    `path filter "${part}" shows ${paths.length} findings, all in matching files`);
  await page.fill('#f-path', '');

  // Text: a word of the first message; no match hides everything and empties the files.
  const message = await page.locator('article.finding .message').first().textContent();
  const word = message.split(/\s+/).find((w) => w.length > 5) || message.trim();
  await page.fill('#f-text', word);
  const texts = await visible().evaluateAll((els) => els.map((e) => e.textContent.toLowerCase()));
  check(texts.length > 0 && texts.every((t) => t.includes(word.toLowerCase())),
    `search "${word}" shows ${texts.length} findings that contain it`);
  await page.fill('#f-text', 'no finding says this 7f3a9');
  check((await shown()) === 0 && (await page.locator('section.file:visible').count()) === 0,
    'a search that matches nothing hides every finding and file');
  await page.fill('#f-text', '');
  check((await shown()) === total, 'clearing the filters shows everything again');

  if (screenshot) {
    await page.screenshot({ path: screenshot, fullPage: false });
    console.log(`screenshot: ${screenshot}`);
  }
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(`html-check: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('html-check: the report filters and searches as it should');
