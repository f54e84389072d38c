// The browser half of the dashboard benchmark (run by `--draw`): signs in
// to the server at $PILOT_BENCH_URL, opens node $PILOT_BENCH_NODE's page in
// Debian's chromium, chooses the 30-day range and prints, for the CPU
// chart, the points drawn, the data request's duration (resource timing)
// and the time from request to drawn (the chart's data-drawn-ms).
// Uses the browser suite's packages: scripts/setup/browser.sh installs them.

import { launchBrowser, DESKTOP } from '../../../tests/browser/support/browser.mjs';
import { signIn } from '../../../tests/browser/support/pages.mjs';

const base = process.env.PILOT_BENCH_URL;
const password = process.env.PILOT_BENCH_PASSWORD;
const node = process.env.PILOT_BENCH_NODE;
const ROUNDS = 10;
const cpu = 'figure[data-metric="cpu_usage_percent"]:not([data-sparkline])';

const browser = await launchBrowser();
try {
  const page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
  await signIn(page, base, 'admin', password);
  await page.goto(`${base}/nodes/${node}`);
  await page.waitForSelector(`${cpu}[data-drawn-ms]`);
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate ranges so each 30-day click loads and draws anew.
    await page.click('button[data-range="1h"]');
    await page.waitForFunction((sel) => document.querySelector(sel).dataset.points !== undefined, cpu);
    const since = await page.evaluate((sel) => {
      document.querySelector(sel).removeAttribute('data-drawn-ms');
      return performance.now();
    }, cpu);
    await page.click('button[data-range="30d"]');
    await page.waitForSelector(`${cpu}[data-drawn-ms]`, { timeout: 30_000 });
    rounds.push(await page.evaluate(({ sel, since }) => {
      const figure = document.querySelector(sel);
      const fetches = performance.getEntriesByType('resource')
        .filter((e) => e.startTime >= since && e.name.includes('metric=cpu_usage_percent') && e.name.includes('start=-30d'));
      return {
        points: Number(figure.dataset.points),
        drawnMs: Number(figure.dataset.drawnMs),
        fetchMs: fetches.length ? fetches[fetches.length - 1].duration : NaN,
      };
    }, { sel: cpu, since }));
  }
  const sorted = (key) => rounds.map((r) => r[key]).sort((a, b) => a - b);
  const median = (key) => sorted(key)[Math.floor(ROUNDS / 2)];
  const max = (key) => sorted(key)[ROUNDS - 1];
  console.log(`30-day CPU chart in chromium, ${ROUNDS} rounds: ${rounds[0].points} points drawn`);
  console.log(`  data request (resource timing): median ${median('fetchMs').toFixed(1)} ms, max ${max('fetchMs').toFixed(1)} ms`);
  console.log(`  request to drawn (data-drawn-ms): median ${median('drawnMs')} ms, max ${max('drawnMs')} ms`);
} finally {
  await browser.close();
}
