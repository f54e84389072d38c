// The dashboard's main flows in a real browser, against a real `pilot up`.
// The tests run in order and share one server, one browser page and what
// earlier tests made (the project, its deployments); each fails on any
// console error, uncaught exception or failed request of its pages.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { PageProblems, checked, launchBrowser, DESKTOP } from './support/browser.mjs';
import { METRICS_INTERVAL_MS, skipUnlessAvailable } from './support/env.mjs';
import { AppRepo, answerOf } from './support/gitapp.mjs';
import { request } from './support/http.mjs';
import { ADMIN, fingerprintOf, startPilot } from './support/pilot.mjs';
import { freePort, waitFor } from './support/processes.mjs';
import { COOKIES, LOGIN, NEW_PROJECT, NODE, OVERVIEW, PATHS, PROJECT, SHELL } from './support/selectors.mjs';

const skip = skipUnlessAvailable('the dashboard flows', ['pilot', 'agent', 'chromium', 'playwright', 'git']);

const PROJECT_NAME = 'shop';
const SECOND_NODE = 'web-2';
const STEP_TIMEOUT = 120_000;

describe('dashboard flows', { skip }, () => {
  let server;
  let browser;
  let context;
  let page;
  let repo;
  const problems = new PageProblems();
  const state = {};
  const pages = () => (context ? context.pages() : []);
  const at = (path) => new URL(path, server.url).href;
  const flow = (name, body) =>
    test(name, { timeout: STEP_TIMEOUT }, () => checked(problems, name, pages, body));
  const needs = (value, what) => {
    if (!value) throw new Error(`this test needs ${what} from an earlier test, which did not get that far`);
    return value;
  };

  /** What the app answers on its public URL (text, or the error). */
  const appAnswer = async (url) => {
    try {
      return await (await fetch(url)).text();
    } catch (e) {
      return `(no answer: ${e.message})`;
    }
  };
  const waitForAnswer = (url, version) =>
    waitFor(`the app at ${url} to answer ${version}`, async () =>
      (await appAnswer(url)).includes(answerOf(version)), { timeoutMs: 60_000, intervalMs: 250 });

  before(async () => {
    server = await startPilot('dashboard');
    repo = new AppRepo(server.dir);
    state.publicPort = await freePort();
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: DESKTOP });
    context.on('page', (p) => problems.watch(p));
    // data-confirm asks before stopping, rolling back, removing …
    context.on('page', (p) => p.on('dialog', (d) => d.accept()));
    page = await context.newPage();
  });

  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  flow('signing in with a wrong password shows a message', async () => {
    // The server answers the refused form with 401, which Chromium logs.
    problems.allow(/status of 401/, 'a wrong password is answered with 401');
    await page.goto(at(PATHS.login));
    await page.fill(LOGIN.username, ADMIN);
    await page.fill(LOGIN.password, 'not-the-password');
    await page.click(LOGIN.submit);
    await page.waitForSelector(LOGIN.error, { state: 'visible' });
    const message = (await page.textContent(LOGIN.error)).trim();
    assert.ok(message.length > 0, 'the error element is empty');
    assert.equal(new URL(page.url()).pathname, PATHS.login, 'a wrong password must not sign in');
    const cookies = await context.cookies(server.url);
    assert.ok(!cookies.some((c) => c.name === COOKIES.session && c.value), 'a session cookie was set');
  });

  flow('signing in works', async () => {
    await page.goto(at(PATHS.login));
    await page.fill(LOGIN.username, ADMIN);
    await page.fill(LOGIN.password, server.adminPassword);
    await Promise.all([
      page.waitForURL((url) => url.pathname === PATHS.overview),
      page.click(LOGIN.submit),
    ]);
    await page.waitForSelector(OVERVIEW.nodeRow('local'));
    const cookies = await context.cookies(server.url);
    assert.ok(cookies.some((c) => c.name === COOKIES.session && c.value), 'no session cookie after signing in');
    state.signedIn = true;
  });

  flow('a create-project error is shown next to the field it names', async () => {
    needs(state.signedIn, 'a session');
    // The refused form is answered with 422, which Chromium logs.
    problems.allow(/status of 422/, 'the server refuses the form with 422');
    await page.goto(at(PATHS.newProject));
    await page.fill(NEW_PROJECT.name, 'ghosted');
    await page.fill(NEW_PROJECT.gitUrl, repo.path);
    await page.fill(NEW_PROJECT.gitBranch, 'main');
    await page.fill(NEW_PROJECT.nodes, 'ghost-node');
    await page.fill(NEW_PROJECT.publicPort, String(state.publicPort));
    await page.click(NEW_PROJECT.submit);
    const slot = page.locator(NEW_PROJECT.fieldError('nodes'));
    await waitFor(`an error in ${NEW_PROJECT.fieldError('nodes')}`, async () =>
      (await slot.textContent()).includes('ghost-node'), { timeoutMs: 15_000 });
    assert.equal(await page.getAttribute(NEW_PROJECT.nodes, 'aria-invalid'), 'true', 'the nodes field is not marked invalid');
    assert.equal(new URL(page.url()).pathname, PATHS.newProject, 'a refused form left the page');
  });

  flow('a project created from the UI deploys with each step shown live', async () => {
    needs(state.signedIn, 'a session');
    await page.goto(at(PATHS.overview));
    await Promise.all([
      page.waitForURL((url) => url.pathname === PATHS.newProject),
      page.click(OVERVIEW.newProjectLink),
    ]);
    await page.fill(NEW_PROJECT.name, PROJECT_NAME);
    await page.fill(NEW_PROJECT.gitUrl, repo.path);
    await page.fill(NEW_PROJECT.gitBranch, 'main');
    await page.fill(NEW_PROJECT.nodes, 'local');
    await page.fill(NEW_PROJECT.publicPort, String(state.publicPort));
    await Promise.all([
      page.waitForURL((url) => url.pathname === PATHS.project(PROJECT_NAME), { timeout: 30_000 }),
      page.click(NEW_PROJECT.submit),
    ]);
    state.created = true;

    // Watch the steps list in the page, without reloading it.
    await page.evaluate(() => {
      window.__sameDocument = true;
      window.__stepCounts = [];
      const poll = () => {
        window.__stepCounts.push(document.querySelectorAll('section[data-deploy-progress] li[data-step]').length);
      };
      window.__stepPoll = setInterval(poll, 25);
    });
    // Creating a project does not deploy it; the first deploy is asked for here.
    await page.click(PROJECT.deploySubmit);
    const expected = PROJECT.expectedSteps('local');
    const last = expected[expected.length - 1];
    await page.waitForSelector(`${PROJECT.step}[data-step="${last}"][data-state="done"]`, { timeout: 90_000 })
      .catch(async (e) => {
        const steps = await page.$$eval(PROJECT.step, (lis) => lis.map((li) => `${li.dataset.step}=${li.dataset.state}: ${li.textContent}`));
        throw new Error(`${e.message}\nsteps shown: ${JSON.stringify(steps, null, 1)}\nserver log:\n${server.tail(2000)}`);
      });
    const { steps, counts, same } = await page.evaluate(() => {
      clearInterval(window.__stepPoll);
      return {
        steps: [...document.querySelectorAll('section[data-deploy-progress] li[data-step]')].map((li) => [li.dataset.step, li.dataset.state]),
        counts: window.__stepCounts,
        same: window.__sameDocument === true,
      };
    });
    assert.ok(same, 'the page was reloaded while deploying; the steps must appear live');
    const shown = steps.map(([step]) => step);
    for (const step of expected) assert.ok(shown.includes(step), `step ${step} was not shown (shown: ${shown.join(', ')})`);
    for (const [step, stepState] of steps) assert.equal(stepState, 'done', `step ${step} ended ${stepState}`);
    const distinct = new Set(counts);
    assert.ok(distinct.size >= 3, `the steps did not appear one by one (counts seen: ${[...distinct].join(', ')})`);
    state.deployed = true;
  });

  flow("the app's URL on the project page answers", async () => {
    needs(state.deployed, 'a deployed project');
    const link = page.locator(PROJECT.appUrl);
    await link.waitFor({ state: 'visible', timeout: 15_000 });
    const href = await link.getAttribute('href');
    assert.ok(href, `${PROJECT.appUrl} has no href`);
    state.appUrl = new URL(href, server.url).href;
    assert.equal(new URL(state.appUrl).port, String(state.publicPort), 'the app URL is not on the public port asked for');
    const app = await context.newPage();
    try {
      const response = await app.goto(state.appUrl);
      assert.equal(response.status(), 200);
      assert.ok((await app.textContent('body')).includes(answerOf('v1')), `the app answered: ${await app.textContent('body')}`);
    } finally {
      await app.close();
    }
  });

  flow('a second version is deployed from the project page', async () => {
    const appUrl = needs(state.appUrl, 'the app URL');
    repo.commit('v2');
    await page.goto(at(PATHS.project(PROJECT_NAME)));
    await page.click(PROJECT.deploySubmit);
    await waitForAnswer(appUrl, 'v2');
    await page.waitForSelector(PROJECT.deploymentRow(2), { timeout: 30_000 });
    state.v2 = true;
  });

  flow('rolling back from the deployment history brings version 1 back', async () => {
    const appUrl = needs(state.v2 && state.appUrl, 'version 2 deployed');
    await page.goto(at(PATHS.project(PROJECT_NAME)));
    const button = page.locator(PROJECT.rollbackButton(1));
    await button.waitFor({ state: 'visible' });
    await button.click();
    await waitForAnswer(appUrl, 'v1');
  });

  flow('a secret is listed masked and its value is never in the page', async () => {
    needs(state.created, 'the project');
    const key = 'API_TOKEN';
    const value = `s3cret-${Math.random().toString(36).slice(2)}-value`;
    await page.goto(at(PATHS.project(PROJECT_NAME)));
    await page.fill(PROJECT.envKey, key);
    await page.fill(PROJECT.envValue, value);
    await page.click(PROJECT.envSubmit);
    const row = page.locator(PROJECT.envRow(key));
    await row.waitFor({ state: 'visible', timeout: 15_000 });
    assert.ok(!(await row.textContent()).includes(value), 'the secret row shows the value');
    assert.ok(!(await page.content()).includes(value), 'the value is in the page after setting it');
    assert.equal(await page.inputValue(PROJECT.envValue), '', 'the value field was not cleared');
    await page.reload();
    await row.waitFor({ state: 'visible' });
    assert.ok(!(await page.content()).includes(value), 'the value is in the page after a reload');
  });

  flow('a new app log line arrives live', async () => {
    const appUrl = needs(state.appUrl, 'the app URL');
    await page.goto(at(PATHS.project(PROJECT_NAME)));
    const lines = page.locator(PROJECT.logLines);
    await lines.waitFor({ state: 'attached' });
    // Let the log socket connect before the line is written.
    await page.waitForTimeout(1000);
    const marker = `log-probe-${Date.now()}`;
    const answer = await appAnswer(new URL(`/${marker}`, appUrl).href);
    assert.ok(answer.includes('hello from browser-app'), `the app answered: ${answer}`);
    await waitFor(`"${marker}" in ${PROJECT.logLines}`, async () => (await lines.textContent()).includes(marker), {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
  });

  flow('a failed deploy shows the failed step, its log and the reason, and the old version serves on', async () => {
    const appUrl = needs(state.appUrl, 'the app URL');
    repo.commitBroken();
    try {
      await page.goto(at(PATHS.project(PROJECT_NAME)));
      await page.click(PROJECT.deploySubmit);
      const failed = page.locator(`${PROJECT.step}[data-step="local:build"][data-state="failed"]`);
      await failed.waitFor({ state: 'visible', timeout: 90_000 });
      assert.match(await failed.textContent(), /failed/, 'the failed step does not say so');
      await waitFor('the deployment to end', async () =>
        /Finished on local: (failed|rolled back)/.test(await page.textContent(PROJECT.deployState)), { timeoutMs: 60_000 });
      const ended = await page.textContent(PROJECT.deployState);
      assert.match(ended, / — \S/, `no reason after the end state: ${ended}`);
      const log = await page.textContent(PROJECT.buildLog);
      assert.ok(log.includes('SyntaxError'), `the build log does not show the build's error:\n${log.slice(-1500)}`);
      assert.ok((await appAnswer(appUrl)).includes(answerOf('v1')), 'the failed deploy took the live version down');
    } finally {
      repo.commitFixed('v3');
    }
  });

  flow("a chart on the node page gains a point within two metric intervals", async () => {
    needs(state.signedIn, 'a session');
    await page.goto(at(PATHS.node('local')));
    const chart = page.locator(NODE.chart).first();
    await chart.waitFor({ state: 'attached' });
    const points = async () => Number((await chart.getAttribute('data-points')) ?? NaN);
    const first = await waitFor(`${NODE.chart} to be drawn (data-points)`, async () => {
      const n = await points();
      return Number.isFinite(n) ? { n } : null;
    }, { timeoutMs: 15_000 });
    const started = Date.now();
    const budget = 2 * METRICS_INTERVAL_MS + 1000;
    await waitFor(`data-points to grow from ${first.n} within ${budget} ms`, async () => (await points()) > first.n, {
      timeoutMs: budget,
      intervalMs: 100,
    });
    console.log(`# chart gained a point ${Date.now() - started} ms after the first draw (${first.n} points before)`);
  });

  flow('a node turns offline when its agent stops', async () => {
    needs(state.signedIn, 'a session');
    // `pilot up` cannot stop only its own agent: add a second node from the
    // overview, start its agent, then stop that.
    await page.goto(at(PATHS.overview));
    await page.click(OVERVIEW.addNodeSummary);
    await page.fill(OVERVIEW.addNodeName, SECOND_NODE);
    await page.click(OVERVIEW.addNodeSubmit);
    const tokenEl = page.locator(OVERVIEW.addNodeToken);
    await tokenEl.waitFor({ state: 'visible', timeout: 15_000 });
    const token = (await tokenEl.textContent()).trim();
    const command = (await page.textContent(OVERVIEW.addNodeCommand)) || '';
    assert.ok(token.length > 0, 'the add-node form revealed no token');
    const fingerprint = fingerprintOf(command);
    assert.ok(fingerprint, `the agent command shows no --tls-fingerprint: ${command}`);
    const agent = await server.startAgent(SECOND_NODE, token, fingerprint);

    await page.goto(at(PATHS.node(SECOND_NODE)));
    await page.waitForFunction(
      ([sel]) => document.querySelector(sel)?.textContent.trim() === 'online',
      [NODE.status],
      { timeout: 15_000 },
    );
    await agent.stop();
    await page.waitForFunction(
      ([sel]) => document.querySelector(sel)?.textContent.trim() === 'offline',
      [NODE.status],
      { timeout: 20_000 },
    );
    // And on the overview.
    await page.goto(at(PATHS.overview));
    assert.equal((await page.textContent(OVERVIEW.nodeRowStatus(SECOND_NODE))).trim(), 'offline');
    assert.equal((await page.textContent(OVERVIEW.nodeRowStatus('local'))).trim(), 'online');
  });

  flow('signing out ends the session', async () => {
    needs(state.signedIn, 'a session');
    await page.goto(at(PATHS.overview));
    const saved = (await context.cookies(server.url)).find((c) => c.name === COOKIES.session);
    assert.ok(saved, 'no session cookie before signing out');
    await Promise.all([
      page.waitForURL((url) => url.pathname === PATHS.login),
      page.click(SHELL.logoutButton),
    ]);
    const response = await request(server.url, PATHS.overview, { cookie: `${COOKIES.session}=${saved.value}` });
    assert.equal(response.status, 303, 'the old session cookie still opens the overview');
    assert.match(response.headers.get('location') || '', /^\/login/);
  });
});
