// Every dashboard page, filled with a deployed project: axe-core finds no
// serious or critical violation, every control is reachable with Tab,
// screenshots at 1280 and 390 px go to the artifacts directory, and the
// node page's 30-day charts are timed (printed, not asserted).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DESKTOP, MOBILE, PageProblems, checked, launchBrowser } from './support/browser.mjs';
import { artifactsDir, skipUnlessAvailable } from './support/env.mjs';
import { AppRepo } from './support/gitapp.mjs';
import { describeViolations, seriousViolations, signIn, unreachableByKeyboard } from './support/pages.mjs';
import { ADMIN, startPilot } from './support/pilot.mjs';
import { freePort } from './support/processes.mjs';
import { COOKIES, NODE, PAGES, PATHS } from './support/selectors.mjs';

const skip = skipUnlessAvailable('the page checks', ['pilot', 'chromium', 'playwright', 'axe', 'git']);

const PROJECT_NAME = 'shop';

/** Waits until the page has loaded and its first fetches are done (live sockets stay open). */
async function settle(page) {
  await page.waitForLoadState('load');
  await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => {});
}

describe('pages', { skip }, () => {
  let server;
  let browser;
  const problems = new PageProblems();
  const contexts = [];
  const pages = () => contexts.flatMap((c) => c.pages());
  const at = (p) => new URL(p, server.url).href;

  /** A context whose pages are watched for problems and accept confirmations. */
  const newContext = async (viewport, options = {}) => {
    const context = await browser.newContext({ viewport, ...options });
    context.on('page', (p) => {
      problems.watch(p);
      p.on('dialog', (d) => d.accept());
    });
    contexts.push(context);
    return context;
  };

  /** Signs `page`'s context in, unless it is already. */
  const signedIn = async (page) => {
    const cookies = await page.context().cookies(server.url);
    if (!cookies.some((c) => c.name === COOKIES.session && c.value)) {
      await signIn(page, server.url, ADMIN, server.adminPassword);
    }
  };

  before(async () => {
    server = await startPilot('pages');
    const repo = new AppRepo(server.dir);
    const port = await freePort();
    await server.createProject(PROJECT_NAME, repo.path, port);
    await server.deploy(PROJECT_NAME);
    repo.commit('v2');
    await server.deploy(PROJECT_NAME);
    await server.api('PUT', `/projects/${PROJECT_NAME}/env/API_TOKEN`, { value: 'not-shown-anywhere' });
    await fetch(`http://127.0.0.1:${port}/hello`).catch(() => {});
    browser = await launchBrowser();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  describe('accessibility and keyboard', () => {
    let page;

    before(async () => {
      // axe-core is injected as an inline script, which the pages' CSP
      // rightly forbids: this context bypasses the CSP (the others do not).
      const context = await newContext(DESKTOP, { bypassCSP: true });
      page = await context.newPage();
    });

    for (const [name, pagePath] of PAGES(PROJECT_NAME)) {
      test(`${name} (${pagePath}): no serious or critical axe violation, every control reachable by Tab`, { timeout: 60_000 }, () =>
        checked(problems, `a11y ${name}`, pages, async () => {
          // The login page comes first, signed out; the others signed in.
          if (name !== 'login') await signedIn(page);
          await page.goto(at(pagePath));
          assert.equal(new URL(page.url()).pathname, pagePath, `${pagePath} redirected to ${page.url()}`);
          await settle(page);
          const violations = await seriousViolations(page);
          const missed = await unreachableByKeyboard(page);
          const failures = [];
          if (violations.length > 0) {
            failures.push(`${violations.length} serious or critical axe violation(s) on ${pagePath}:\n${describeViolations(violations)}`);
          }
          if (missed.length > 0) {
            failures.push(`${missed.length} control(s) on ${pagePath} never received focus with Tab:\n  ${missed.join('\n  ')}`);
          }
          assert.ok(failures.length === 0, failures.join('\n\n'));
        }));
    }
  });

  test('screenshots of every page at 1280 and 390 px', { timeout: 180_000 }, () =>
    checked(problems, 'screenshots', pages, async () => {
      const dir = artifactsDir();
      const written = [];
      const narrow = [];
      for (const [label, viewport] of [['desktop', DESKTOP], ['390', MOBILE]]) {
        const context = await newContext(viewport);
        const page = await context.newPage();
        for (const [name, pagePath] of PAGES(PROJECT_NAME)) {
          if (name !== 'login') await signedIn(page);
          await page.goto(at(pagePath));
          await settle(page);
          // Let the charts draw.
          await page.waitForFunction(() =>
            [...document.querySelectorAll('figure[data-chart]')].every((f) => f.hasAttribute('data-points')),
          null, { timeout: 10_000 }).catch(() => {});
          const file = path.join(dir, `${name}-${label}.png`);
          await page.screenshot({ path: file, fullPage: true });
          written.push(path.basename(file));
          if (label === '390') {
            const width = await page.evaluate(() => document.documentElement.scrollWidth);
            if (width > MOBILE.width + 1) narrow.push(`${name}: ${width} px wide`);
          }
        }
        await context.close();
        contexts.splice(contexts.indexOf(context), 1);
      }
      console.log(`# screenshots in ${dir}: ${written.join(', ')}`);
      assert.deepEqual(narrow, [], 'pages wider than 390 px scroll sideways on a phone');
    }));

  test('the node page draws its 30-day charts (timing printed)', { timeout: 90_000 }, () =>
    checked(problems, 'performance', pages, async () => {
      const context = await newContext(DESKTOP);
      const page = await context.newPage();
      await signIn(page, server.url, ADMIN, server.adminPassword);
      await page.goto(at(PATHS.node('local')));
      const charts = NODE.chart;
      await page.waitForFunction((sel) => {
        const figures = [...document.querySelectorAll(sel)];
        return figures.length > 0 && figures.every((f) => f.hasAttribute('data-drawn-ms'));
      }, charts, { timeout: 15_000 });
      // Count the draws that follow the click.
      const t0 = await page.evaluate((sel) => {
        window.__draws = 0;
        const observer = new MutationObserver((records) => {
          window.__draws += records.filter((r) => r.attributeName === 'data-drawn-ms').length;
        });
        for (const f of document.querySelectorAll(sel)) observer.observe(f, { attributes: true, attributeFilter: ['data-drawn-ms'] });
        return performance.now();
      }, charts);
      const figureCount = await page.locator(charts).count();
      await page.click(NODE.rangeButton('30d'));
      await page.waitForFunction((n) => window.__draws >= n, figureCount, { timeout: 60_000 });
      const result = await page.evaluate(({ sel, since }) => ({
        charts: [...document.querySelectorAll(sel)].map((f) => ({
          metric: f.dataset.metric,
          points: Number(f.dataset.points),
          drawnMs: Number(f.dataset.drawnMs),
        })),
        queries: performance
          .getEntriesByType('resource')
          .filter((e) => e.name.includes('/api/v1/metrics/query') && e.startTime >= since)
          .map((e) => ({ url: e.name.replace(location.origin, ''), durationMs: Math.round(e.duration * 10) / 10 })),
      }), { sel: charts, since: t0 });
      assert.ok(result.queries.length > 0, 'choosing 30d made no /api/v1/metrics/query request');
      const lines = [
        '# node page, range 30d:',
        ...result.charts.map((c) => `#   chart ${c.metric}: ${c.points} points, data-drawn-ms ${c.drawnMs}`),
        ...result.queries.map((q) => `#   fetch ${q.url}: ${q.durationMs} ms`),
      ];
      console.log(lines.join('\n'));
      fs.writeFileSync(path.join(artifactsDir(), 'performance.json'), `${JSON.stringify(result, null, 2)}\n`);
    }));
});
