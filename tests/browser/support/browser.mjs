// Debian's chromium driven by playwright-core, and the checks every page
// gets: no console error, no uncaught exception, no failed request.

import path from 'node:path';

import { artifactsDir, chromiumPath } from './env.mjs';

export const DESKTOP = { width: 1280, height: 800 };
export const MOBILE = { width: 390, height: 844 };

/** Chromium flags for these machines (see TESTBEDS.md). */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * A headless chromium. Playwright gives it a fresh, empty profile directory
 * of its own (and removes it on close).
 */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ARGS });
}

/**
 * Problems seen on pages: console messages of type error, uncaught
 * exceptions and failed requests (except those aborted by a navigation,
 * which Chromium reports as net::ERR_ABORTED). Collected per test: call
 * `begin()` at its start and `assertNone()` at its end.
 */
export class PageProblems {
  constructor() {
    this.items = [];
    this.allowed = [];
  }

  /** Starts a test: forgets earlier problems and allowances. */
  begin() {
    this.items = [];
    this.allowed = [];
  }

  /** Tolerates console errors matching `pattern` during this test, with the reason why they are expected. */
  allow(pattern, why) {
    this.allowed.push({ pattern, why });
  }

  /** Watches `page`. */
  watch(page) {
    const where = () => {
      try {
        return page.url();
      } catch {
        return '?';
      }
    };
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = message.text();
      if (this.allowed.some(({ pattern }) => pattern.test(text))) return;
      const loc = message.location();
      this.items.push(`console error on ${where()}: ${text}${loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`);
    });
    page.on('pageerror', (error) => {
      this.items.push(`uncaught exception on ${where()}: ${error.stack || error.message}`);
    });
    page.on('requestfailed', (req) => {
      const failure = req.failure()?.errorText || 'failed';
      if (failure.includes('ERR_ABORTED')) return; // cut short by a navigation
      this.items.push(`request failed on ${where()}: ${req.method()} ${req.url()}: ${failure}`);
    });
    return page;
  }

  assertNone() {
    if (this.items.length > 0) {
      throw new Error(`the pages reported ${this.items.length} problem(s):\n  ${this.items.join('\n  ')}`);
    }
  }
}

/**
 * Runs `body`, then lets late events arrive and fails on any page problem.
 * On failure, screenshots `pages` into the artifacts directory.
 */
export async function checked(problems, name, pages, body) {
  problems.begin();
  try {
    await body();
    await new Promise((resolve) => setTimeout(resolve, 250));
    problems.assertNone();
  } catch (e) {
    const slug = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
    for (const [i, page] of pages().entries()) {
      if (page.isClosed()) continue;
      await page
        .screenshot({ path: path.join(artifactsDir(), `failed-${slug}-${i}.png`), fullPage: true })
        .catch(() => {});
    }
    if (problems.items.length > 0 && !String(e.message).includes('problem(s)')) {
      e.message += `\nthe pages also reported:\n  ${problems.items.join('\n  ')}`;
    }
    throw e;
  }
}
