// Every URL, selector, form field and visible word the browser suite relies
// on, in one place. The dashboard's pages (pilot-server/templates/web/) and
// app.js (pilot-server/web/) must satisfy these; when either side changes,
// adjust it here. The hooks app.js reads are described in
// pilot-server/web/README.md.

/** Page paths. `project` and `node` take a name. */
export const PATHS = {
  login: '/login',
  overview: '/',
  node: (name) => `/nodes/${encodeURIComponent(name)}`,
  project: (name) => `/projects/${encodeURIComponent(name)}`,
  newProject: '/projects/new',
  users: '/users',
  settings: '/settings',
  alerts: '/alerts',
  logout: '/logout',
  changePassword: '/settings/password',
};

/** Cookies the dashboard sets. */
export const COOKIES = {
  /** The session (HttpOnly, SameSite=Strict). */
  session: 'pilot_session',
  /** The sign-in form's CSRF cookie, set by GET /login. */
  login: 'pilot_login',
};

/** The header carrying the session's CSRF token on API calls made with the cookie. */
export const CSRF_HEADER = 'X-CSRF-Token';

export const LOGIN = {
  form: 'form#login',
  username: 'form#login [name="username"]',
  password: 'form#login [name="password"]',
  /** The hidden field holding the form's CSRF token (also in the pilot_login cookie). */
  csrfField: 'csrf',
  submit: 'form#login [type="submit"]',
  /** The message shown after a wrong password. */
  error: 'form#login [role="alert"]',
};

export const SHELL = {
  nav: 'nav',
  /** The session's CSRF token for scripts. */
  csrfMeta: 'meta[name="csrf-token"]',
  logoutForm: 'form#logout',
  logoutButton: 'form#logout button',
  /** The hidden CSRF field of the server-posted forms (logout, change password). */
  csrfField: 'csrf',
};

export const OVERVIEW = {
  nodesTable: 'table#nodes',
  nodeRow: (name) => `table#nodes tr[data-node="${name}"]`,
  /** Text "online" or "offline". */
  nodeRowStatus: (name) => `tr[data-node="${name}"] .status`,
  projectsTable: 'table#projects',
  projectRow: (name) => `table#projects tr[data-project="${name}"]`,
  newProjectLink: 'a[href="/projects/new"]',
  /** form#add-node lives in a <details>; its <summary> opens it. */
  addNodeSummary: 'details:has(form#add-node) > summary',
  addNodeForm: 'form#add-node',
  addNodeName: 'form#add-node [name="name"]',
  addNodeSubmit: 'form#add-node [type="submit"]',
  /** Filled from the answer of POST /api/v1/nodes (data-then="reveal"). */
  addNodeToken: 'form#add-node [data-reveal] [data-value="token"]',
  addNodeCommand: 'form#add-node [data-reveal] [data-value="agent_command"]',
};

export const NODE = {
  /** Text "online" or "offline", kept current live. */
  status: '#node-status',
  /** A chart of the node's host metrics; carries data-points and data-drawn-ms after each draw. */
  chart: 'figure[data-chart]:not([data-sparkline])',
  rangeButton: (range) => `button[data-range="${range}"]`,
};

export const NEW_PROJECT = {
  form: 'form#create-project',
  name: 'form#create-project [name="name"]',
  gitUrl: 'form#create-project [name="git.url"]',
  gitBranch: 'form#create-project [name="git.branch"]',
  nodes: 'form#create-project [name="nodes"]',
  publicPort: 'form#create-project [name="public_port"]',
  submit: 'form#create-project [type="submit"]',
  /** Where the server's complaint about field `path` is shown, next to it. */
  fieldError: (path) => `form#create-project [data-error-for="${path}"]`,
};

export const PROJECT = {
  deployForm: 'form#deploy',
  deploySubmit: 'form#deploy [type="submit"]',
  progress: 'section[data-deploy-progress]',
  /** The build output of the running (or last) deployment, streamed. */
  buildLog: 'section[data-deploy-progress] pre[data-build-log]',
  /** How the running (or last) deployment ended, with its reason. */
  deployState: 'section[data-deploy-progress] [data-deploy-state]',
  /** One per node and step: data-step="NODE:STEP", data-state="running|done|failed|reverted". */
  step: 'section[data-deploy-progress] li[data-step]',
  /** Steps a successful deploy of a new release on node `local` must show (the last one last). */
  expectedSteps: (node) =>
    ['fetch', 'configure', 'build', 'start', 'health_check', 'switch', 'watch', 'retire'].map(
      (s) => `${node}:${s}`,
    ),
  appUrl: 'a#app-url',
  deployments: 'table#deployments',
  deploymentRow: (generation) => `table#deployments tr[data-generation="${generation}"]`,
  rollbackButton: (generation) => `table#deployments tr[data-generation="${generation}"] button`,
  envForm: 'form#env-set',
  envKey: 'form#env-set [name="key"]',
  envValue: 'form#env-set [name="value"]',
  envSubmit: 'form#env-set [type="submit"]',
  envRow: (key) => `table#env tr[data-key="${key}"]`,
  logs: 'section[data-logs]',
  logLines: 'section[data-logs] pre[data-log-lines]',
};

export const USERS = {
  table: 'table#users',
  addForm: 'form#add-user',
};

export const SETTINGS = {
  changePasswordForm: 'form#change-password',
  currentPassword: 'current_password',
  newPassword: 'new_password',
};

/** Controls the keyboard check expects to reach with Tab. */
export const FOCUSABLE = 'a[href], button, input:not([type="hidden"]), select, textarea';

/** The pages the accessibility, keyboard and screenshot checks visit (name → path). */
export const PAGES = (project) => [
  ['login', PATHS.login],
  ['overview', PATHS.overview],
  ['node', PATHS.node('local')],
  ['project', PATHS.project(project)],
  ['new-project', PATHS.newProject],
  ['users', PATHS.users],
  ['settings', PATHS.settings],
  ['alerts', PATHS.alerts],
];

/** Signed-out checks: every page path, and the data endpoints. */
export const SIGNED_OUT_PAGES = (project, node) => [
  PATHS.overview,
  PATHS.node(node),
  PATHS.project(project),
  PATHS.newProject,
  PATHS.users,
  PATHS.settings,
  PATHS.alerts,
];
export const DATA_ENDPOINTS = ['/api/v1/nodes', '/api/v1/projects', '/api/v1/system'];
