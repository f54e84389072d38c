// Security checks of the dashboard and the API it uses, with plain HTTP
// from Node (no browser): what a signed-out visitor gets, CSRF on changes
// made with the session cookie, response headers, cookie attributes, and
// sessions ending on sign-out and on a password change.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { skipUnlessAvailable } from './support/env.mjs';
import { AppRepo } from './support/gitapp.mjs';
import {
  cookieApi,
  formLogin,
  formLogout,
  inputValue,
  pageCsrf,
  request,
  sessionCookie,
  setCookie,
} from './support/http.mjs';
import { ADMIN, startPilot } from './support/pilot.mjs';
import { freePort } from './support/processes.mjs';
import {
  COOKIES,
  DATA_ENDPOINTS,
  PATHS,
  SETTINGS,
  SHELL,
  SIGNED_OUT_PAGES,
} from './support/selectors.mjs';

const skip = skipUnlessAvailable('the security checks', ['pilot', 'git']);

// Distinctive names, so finding them in a body means inventory leaked.
const PROJECT_NAME = 'zircon-ledger';
const NODE_NAME = 'quartz-node-7';

/** The names of `server`'s inventory that must not reach a signed-out visitor. */
const INVENTORY = [PROJECT_NAME, NODE_NAME];

function assertNoInventory(body, where) {
  for (const name of INVENTORY) {
    assert.ok(!body.includes(name), `${where} names "${name}" to a signed-out visitor:\n${body.slice(0, 500)}`);
  }
}

/** The effective source list for scripts of a Content Security Policy. */
function scriptSources(csp) {
  const directives = Object.fromEntries(
    csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
      const [name, ...values] = d.split(/\s+/);
      return [name.toLowerCase(), values];
    }),
  );
  return { directives, scripts: directives['script-src'] ?? directives['default-src'] ?? null };
}

describe('security', { skip }, () => {
  let server;

  before(async () => {
    server = await startPilot('security');
    const repo = new AppRepo(server.dir);
    await server.createProject(PROJECT_NAME, repo.path, await freePort());
    await server.api('POST', '/nodes', { name: NODE_NAME });
  });

  after(async () => {
    await server?.stop();
  });

  const signIn = async () => {
    const { response, session } = await formLogin(server.url, ADMIN, server.adminPassword);
    assert.equal(response.status, 303, `signing in answered ${response.status}: ${await response.text()}`);
    assert.ok(session, 'signing in set no session cookie');
    return session;
  };

  test('signed out, every page redirects to the sign-in page and names nothing', async () => {
    const pages = SIGNED_OUT_PAGES(PROJECT_NAME, NODE_NAME);
    for (const cookie of [undefined, sessionCookie('not-a-session'), sessionCookie('')]) {
      for (const path of pages) {
        const response = await request(server.url, path, { cookie });
        const body = await response.text();
        const as = `GET ${path}${cookie ? ` with cookie "${cookie}"` : ''}`;
        assert.equal(response.status, 303, `${as} answered ${response.status}`);
        assert.match(response.headers.get('location') || '', /^\/login(\?|$)/, `${as} redirects elsewhere`);
        assertNoInventory(body, as);
      }
    }
    const login = await request(server.url, PATHS.login);
    assert.equal(login.status, 200);
    assertNoInventory(await login.text(), `GET ${PATHS.login}`);
  });

  test('signed out, the data endpoints answer 401 and name nothing', async () => {
    for (const cookie of [undefined, sessionCookie('not-a-session')]) {
      for (const path of DATA_ENDPOINTS) {
        const response = await request(server.url, path, { cookie });
        const body = await response.text();
        assert.equal(response.status, 401, `GET ${path} answered ${response.status}: ${body.slice(0, 300)}`);
        assertNoInventory(body, `GET ${path}`);
      }
    }
  });

  test('the sign-in form is refused without its CSRF cookie', async () => {
    const { response, session } = await formLogin(server.url, ADMIN, server.adminPassword, { withCsrf: false });
    assert.equal(response.status, 403, `a sign-in without the form's CSRF token answered ${response.status}`);
    assert.equal(session, undefined, 'a session cookie was set anyway');
  });

  test('the session cookie is HttpOnly and SameSite=Strict', async () => {
    const form = await request(server.url, PATHS.login);
    const loginCookie = setCookie(form, COOKIES.login);
    assert.ok(loginCookie, `GET ${PATHS.login} set no ${COOKIES.login} cookie`);
    const { response, setCookie: header } = await formLogin(server.url, ADMIN, server.adminPassword);
    assert.equal(response.status, 303);
    for (const [name, value] of [[COOKIES.session, header], [COOKIES.login, loginCookie]]) {
      const attributes = value.split(';').slice(1).map((a) => a.trim().toLowerCase());
      assert.ok(attributes.includes('httponly'), `${name} is not HttpOnly: ${value.replace(/=[^;]+/, '=…')}`);
      assert.ok(attributes.includes('samesite=strict'), `${name} is not SameSite=Strict: ${value.replace(/=[^;]+/, '=…')}`);
    }
  });

  test('a change sent with the session cookie needs its CSRF token', async () => {
    const session = await signIn();
    const other = await signIn();
    const users = async () => {
      const response = await cookieApi(server.url, '/api/v1/users', session);
      assert.equal(response.status, 200, 'GET /api/v1/users with the session cookie');
      return (await response.json()).map((u) => u.username);
    };
    const initial = await users();
    const newUser = { username: 'mallory', password: 'mallory-password-1', role: 'admin' };
    const { token: otherToken } = await pageCsrf(server.url, other);
    for (const [why, csrf] of [
      ['without X-CSRF-Token', undefined],
      ['with an empty X-CSRF-Token', ''],
      ['with a wrong X-CSRF-Token', '0'.repeat(64)],
      ["with another session's X-CSRF-Token", otherToken],
    ]) {
      const response = await cookieApi(server.url, '/api/v1/users', session, { method: 'POST', json: newUser, csrf });
      const body = await response.text();
      assert.equal(response.status, 403, `POST /api/v1/users ${why} answered ${response.status}: ${body.slice(0, 300)}`);
    }
    const afterRefusals = await users();
    assert.deepEqual(afterRefusals, initial, 'a refused request changed the users');
    assert.ok(!afterRefusals.includes(newUser.username));

    // The same request with the session's own token goes through: the
    // refusals above were about the token only.
    const { token } = await pageCsrf(server.url, session);
    const made = await cookieApi(server.url, '/api/v1/users', session, {
      method: 'POST',
      json: { ...newUser, username: 'csrf-control', role: 'viewer' },
      csrf: token,
    });
    assert.equal(made.status, 201, `POST /api/v1/users with the right token answered ${made.status}: ${await made.text()}`);
    const removed = await cookieApi(server.url, '/api/v1/users/csrf-control', session, { method: 'DELETE', csrf: token });
    assert.ok([200, 204].includes(removed.status), `DELETE answered ${removed.status}`);
  });

  test('pages carry a strict Content Security Policy, no framing and no caching', async () => {
    const session = await signIn();
    const paths = [...SIGNED_OUT_PAGES(PROJECT_NAME, 'local'), PATHS.node(NODE_NAME)];
    const checks = [[PATHS.login, undefined], ...paths.map((p) => [p, session])];
    for (const [path, signedIn] of checks) {
      const response = await request(server.url, path, { cookie: signedIn && sessionCookie(signedIn) });
      const as = `GET ${path}${signedIn ? ' (signed in)' : ''}`;
      assert.equal(response.status, 200, `${as} answered ${response.status}`);
      const csp = response.headers.get('content-security-policy') || '';
      const { directives, scripts } = scriptSources(csp);
      assert.deepEqual(directives['frame-ancestors'], ["'none'"], `${as}: CSP without frame-ancestors 'none': ${csp}`);
      assert.ok(scripts, `${as}: CSP restricts no scripts: ${csp}`);
      assert.ok(!scripts.includes("'unsafe-inline'"), `${as}: script-src allows 'unsafe-inline': ${csp}`);
      assert.ok(!scripts.includes("'unsafe-eval'"), `${as}: script-src allows 'unsafe-eval': ${csp}`);
      assert.equal((response.headers.get('x-frame-options') || '').toUpperCase(), 'DENY', `${as}: X-Frame-Options`);
      assert.match(response.headers.get('cache-control') || '', /no-store/, `${as}: Cache-Control`);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', `${as}: X-Content-Type-Options`);
    }
  });

  test('a session stops working after signing out', async () => {
    const session = await signIn();
    // Signing out needs the CSRF token too.
    const refused = await request(server.url, PATHS.logout, { method: 'POST', cookie: sessionCookie(session), form: { csrf: 'forged' } });
    assert.equal(refused.status, 403, `POST ${PATHS.logout} with a forged token answered ${refused.status}`);
    assert.equal((await request(server.url, PATHS.overview, { cookie: sessionCookie(session) })).status, 200,
      'a refused sign-out ended the session');

    const out = await formLogout(server.url, session);
    assert.equal(out.status, 303, `POST ${PATHS.logout} answered ${out.status}`);
    const page = await request(server.url, PATHS.overview, { cookie: sessionCookie(session) });
    assert.equal(page.status, 303, 'the overview still opens with the signed-out cookie');
    assert.match(page.headers.get('location') || '', /^\/login/);
    const api = await cookieApi(server.url, '/api/v1/projects', session);
    assert.equal(api.status, 401, 'the API still accepts the signed-out cookie');
  });

  test('sessions stop working after a password change', async () => {
    const session = await signIn();
    const elsewhere = await signIn();
    const bearer = await server.adminToken();
    const settings = await request(server.url, PATHS.settings, { cookie: sessionCookie(session) });
    const html = await settings.text();
    assert.equal(settings.status, 200);
    assert.ok(html.includes(`id="${SETTINGS.changePasswordForm.replace('form#', '')}"`), `no ${SETTINGS.changePasswordForm} on ${PATHS.settings}`);
    const newPassword = `${server.adminPassword}-changed`;
    const changed = await request(server.url, PATHS.changePassword, {
      method: 'POST',
      cookie: sessionCookie(session),
      form: {
        [SHELL.csrfField]: inputValue(html, SHELL.csrfField),
        [SETTINGS.currentPassword]: server.adminPassword,
        [SETTINGS.newPassword]: newPassword,
      },
    });
    assert.equal(changed.status, 303, `POST ${PATHS.changePassword} answered ${changed.status}: ${(await changed.text()).slice(0, 300)}`);
    const oldPassword = server.adminPassword;
    server.password = newPassword;

    for (const [what, cookie] of [['the changing browser\'s old cookie', session], ['another browser\'s cookie', elsewhere]]) {
      const page = await request(server.url, PATHS.overview, { cookie: sessionCookie(cookie) });
      assert.equal(page.status, 303, `${what} still opens the overview after the password change`);
    }
    const api = await request(server.url, '/api/v1/projects', { token: bearer });
    assert.equal(api.status, 401, 'an API token issued before the password change still works');

    const fresh = setCookie(changed, COOKIES.session);
    assert.ok(fresh, 'the password change gave this browser no new session');
    const freshValue = fresh.split(';')[0].split('=').slice(1).join('=');
    assert.equal((await request(server.url, PATHS.overview, { cookie: sessionCookie(freshValue) })).status, 200,
      'the new session of the changing browser does not work');

    const withOld = await formLogin(server.url, ADMIN, oldPassword);
    assert.notEqual(withOld.response.status, 303, 'the old password still signs in');
    assert.equal(withOld.session, undefined);
    await signIn();
  });
});
