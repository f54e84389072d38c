// Things done on dashboard pages: signing in through the form, axe-core
// checks, the keyboard walk.

import fs from 'node:fs';
import { createRequire } from 'node:module';

import { FOCUSABLE, LOGIN, PATHS } from './selectors.mjs';

const require = createRequire(import.meta.url);

/** Signs in through form#login and waits for the page it leads to. */
export async function signIn(page, base, username, password) {
  await page.goto(new URL(PATHS.login, base).href);
  await page.fill(LOGIN.username, username);
  await page.fill(LOGIN.password, password);
  await Promise.all([
    page.waitForURL((url) => url.pathname !== PATHS.login, { timeout: 15_000 }),
    page.click(LOGIN.submit),
  ]);
}

let axeSource;

/**
 * Runs axe-core on `page` and returns the violations of impact serious or
 * critical. The page's Content Security Policy forbids inline scripts, so
 * the page must come from a context made with `bypassCSP: true`.
 */
export async function seriousViolations(page) {
  axeSource ??= fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.addScriptTag({ content: axeSource });
  }
  const results = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations'] }),
  );
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Violations as readable text. */
export function describeViolations(violations) {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .slice(0, 8)
        .map((n) => `      at ${n.target.join(' ')}\n        ${(n.failureSummary || '').replace(/\n/g, '\n        ')}\n        ${n.html.slice(0, 200)}`)
        .join('\n');
      const more = v.nodes.length > 8 ? `\n      … and ${v.nodes.length - 8} more` : '';
      return `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes}${more}`;
    })
    .join('\n');
}

/**
 * Tabs through `page` and returns the visible, enabled controls
 * (FOCUSABLE) that never received focus, described by their HTML.
 */
export async function unreachableByKeyboard(page) {
  const count = await page.evaluate((selector) => {
    let n = 0;
    for (const el of document.querySelectorAll(selector)) {
      const rect = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      const visible =
        rect.width > 0 &&
        rect.height > 0 &&
        style.visibility !== 'hidden' &&
        style.display !== 'none' &&
        (typeof el.checkVisibility !== 'function' || el.checkVisibility({ visibilityProperty: true }));
      const inert = el.closest('[inert]');
      if (visible && !el.disabled && !inert) {
        el.setAttribute('data-keyboard-probe', String(n++));
      }
    }
    document.activeElement?.blur?.();
    window.__keyboardSeen = new Set();
    const note = () => {
      const id = document.activeElement?.getAttribute?.('data-keyboard-probe');
      if (id !== null && id !== undefined) window.__keyboardSeen.add(id);
    };
    document.addEventListener('focusin', note, true);
    return n;
  }, FOCUSABLE);
  if (count === 0) return [];
  // Each control takes one Tab; allow for other tab stops (log panes, the skip link …).
  for (let i = 0; i < count * 2 + 20; i++) {
    await page.keyboard.press('Tab');
    const seen = await page.evaluate(() => window.__keyboardSeen.size);
    if (seen >= count) break;
  }
  return page.evaluate(() => {
    const missed = [];
    for (const el of document.querySelectorAll('[data-keyboard-probe]')) {
      if (!window.__keyboardSeen.has(el.getAttribute('data-keyboard-probe'))) {
        missed.push(el.outerHTML.slice(0, 200));
      }
    }
    return missed;
  });
}
