// Plain HTTP from Node (no browser): cookies, the dashboard's sign-in and
// sign-out forms, and the REST API with a bearer token.

import { COOKIES, CSRF_HEADER, LOGIN, PATHS, SHELL } from './selectors.mjs';

/** Every Set-Cookie header of a response. */
export function setCookies(response) {
  if (typeof response.headers.getSetCookie === 'function') return response.headers.getSetCookie();
  const joined = response.headers.get('set-cookie');
  // Dashboard cookies use Max-Age, not Expires, so no value holds ", ".
  return joined ? joined.split(/,\s*(?=[^;=\s]+=)/) : [];
}

/** The Set-Cookie header of cookie `name` (with its attributes), or undefined. */
export function setCookie(response, name) {
  return setCookies(response).find((c) => c.startsWith(`${name}=`));
}

/** The value a Set-Cookie header sets. */
export function cookieValue(header) {
  return header ? header.split(';')[0].slice(header.indexOf('=') + 1) : undefined;
}

/** The value of `<input name="NAME" value="…">` (first such input) in `html`. */
export function inputValue(html, name) {
  for (const tag of html.match(/<input\b[^>]*>/gi) || []) {
    const attrs = Object.fromEntries(
      [...tag.matchAll(/([\w:-]+)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/g)].map((m) => [
        m[1].toLowerCase(),
        m[3] ?? m[4] ?? m[5],
      ]),
    );
    if (attrs.name === name) return decodeEntities(attrs.value ?? '');
  }
  return undefined;
}

/** The content of `<meta name="csrf-token" content="…">` in `html`. */
export function csrfMeta(html) {
  const tag = (html.match(/<meta\b[^>]*name="csrf-token"[^>]*>/i) || [])[0];
  const m = tag && tag.match(/content="([^"]*)"/i);
  return m ? decodeEntities(m[1]) : undefined;
}

function decodeEntities(text) {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** A request to `base + path` that never follows redirects. */
export function request(base, path, { method = 'GET', cookie, token, headers = {}, json, form } = {}) {
  const h = { ...headers };
  let body;
  if (cookie) h.cookie = cookie;
  if (token) h.authorization = `Bearer ${token}`;
  if (json !== undefined) {
    h['content-type'] = 'application/json';
    body = JSON.stringify(json);
  }
  if (form !== undefined) {
    h['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  return fetch(new URL(path, base), { method, headers: h, body, redirect: 'manual' });
}

/** `Cookie` header value of a session token. */
export const sessionCookie = (token) => `${COOKIES.session}=${token}`;

/**
 * Signs in through the dashboard's form, the way a browser does: GET
 * /login for the form's CSRF cookie and hidden field, then POST them with
 * the credentials. Returns the POST's response, the session cookie's
 * Set-Cookie header and its value.
 */
export async function formLogin(base, username, password, { withCsrf = true } = {}) {
  const page = await request(base, PATHS.login);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`GET ${PATHS.login} answered ${page.status}: ${html.slice(0, 300)}`);
  const loginCookie = cookieValue(setCookie(page, COOKIES.login));
  const csrf = inputValue(html, LOGIN.csrfField);
  if (withCsrf && (!loginCookie || !csrf)) {
    throw new Error(`GET ${PATHS.login} set no ${COOKIES.login} cookie or no hidden "${LOGIN.csrfField}" field`);
  }
  const response = await request(base, PATHS.login, {
    method: 'POST',
    cookie: withCsrf ? `${COOKIES.login}=${loginCookie}` : undefined,
    form: { username, password, csrf: withCsrf ? csrf : '', next: '' },
  });
  const header = setCookie(response, COOKIES.session);
  const value = cookieValue(header);
  return { response, setCookie: header, session: value && value.length > 0 ? value : undefined };
}

/** The session's CSRF token, from the meta tag of a signed-in page. */
export async function pageCsrf(base, session, path = PATHS.overview) {
  const response = await request(base, path, { cookie: sessionCookie(session) });
  const html = await response.text();
  const token = csrfMeta(html);
  if (response.status !== 200 || !token) {
    throw new Error(`GET ${path} signed in answered ${response.status} without ${SHELL.csrfMeta}`);
  }
  return { token, html };
}

/** Signs out through form#logout's endpoint. */
export async function formLogout(base, session) {
  const { html } = await pageCsrf(base, session);
  return request(base, PATHS.logout, {
    method: 'POST',
    cookie: sessionCookie(session),
    form: { [SHELL.csrfField]: inputValue(html, SHELL.csrfField) ?? csrfMeta(html) },
  });
}

/** An API call with the session cookie (and, when given, a CSRF header). */
export function cookieApi(base, path, session, { method = 'GET', json, csrf } = {}) {
  const headers = csrf === undefined ? {} : { [CSRF_HEADER]: csrf };
  return request(base, path, { method, json, cookie: sessionCookie(session), headers });
}
