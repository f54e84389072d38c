// A real `pilot up` (server + agent of node `local` in one process) in a
// fresh temporary directory, and extra agents (`pilot-agent`) beside it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { agentBin, artifactsDir, pilotBin } from './env.mjs';
import { request } from './http.mjs';
import { Proc, freePort, waitFor } from './processes.mjs';

export const ADMIN = 'admin';

/** The environment of the programs the suite starts: no inherited Pilot settings. */
function childEnv(home, extra = {}) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('PILOT_')) delete env[key];
  }
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    NO_COLOR: '1',
    RUST_BACKTRACE: '1',
    ...extra,
  };
}

/**
 * Starts `pilot up --runtime host` with its own data directory and free
 * ports, signed-in CLI config in a private HOME, and the admin password
 * `password`. Resolves once the API answers /health and `pilot up` said it
 * serves.
 */
export async function startPilot(name, { password = 'pilot-browser-pw-1' } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pilot-browser-${name}-`));
  const home = path.join(dir, 'home');
  const data = path.join(dir, 'pilot-data');
  fs.mkdirSync(home, { recursive: true });
  const apiPort = await freePort();
  const agentPort = await freePort();
  const url = `http://127.0.0.1:${apiPort}`;
  const args = [
    'up',
    '--data', data,
    '--listen', `127.0.0.1:${apiPort}`,
    '--agent-listen', `127.0.0.1:${agentPort}`,
    '--runtime', 'host',
  ];
  const logFile = path.join(dir, 'pilot-up.log');
  const proc = new Proc(`pilot up (${name})`, pilotBin(), args, {
    cwd: dir,
    env: childEnv(home, { PILOT_ADMIN_PASSWORD: password }),
    logFile,
  });
  const server = new PilotServer({ name, dir, home, data, url, apiPort, agentPort, password, proc, logFile });
  try {
    await proc.waitForOutput('Ctrl-C stops it', 90_000);
    await waitFor(`${url}/health`, async () => (await fetch(`${url}/health`)).status === 200, { timeoutMs: 30_000 });
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

export class PilotServer {
  constructor(fields) {
    Object.assign(this, fields);
    this.agents = [];
  }

  /** The admin's current password (changes when a test changes it). */
  get adminPassword() {
    return this.password;
  }

  /**
   * A fresh bearer token of the admin from POST /api/v1/auth/login. Signing
   * out or changing the password ends every session of the user, so the
   * harness asks for a new one each time instead of keeping one.
   */
  async adminToken() {
    const response = await request(this.url, '/api/v1/auth/login', {
      method: 'POST',
      json: { username: ADMIN, password: this.password },
    });
    const body = await response.json().catch(() => ({}));
    if (response.status !== 200 || !body.token) {
      throw new Error(`API login as ${ADMIN} answered ${response.status}: ${JSON.stringify(body)}`);
    }
    return body.token;
  }

  /** An API call as the admin (bearer token); resolves to { status, body }, throwing on statuses not in `expect`. */
  async api(method, apiPath, json, { expect = [200, 201, 202, 204] } = {}) {
    const response = await request(this.url, `/api/v1${apiPath}`, { method, json, token: await this.adminToken() });
    const text = await response.text();
    let body = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    if (!expect.includes(response.status)) {
      throw new Error(`${method} /api/v1${apiPath} answered ${response.status}: ${text.slice(0, 500)}`);
    }
    return { status: response.status, body };
  }

  /** Creates project `name` from the git repository at `repoPath` on node `local`. */
  async createProject(name, repoPath, publicPort) {
    return this.api('POST', '/projects', {
      name,
      nodes: ['local'],
      public_port: publicPort,
      git: { url: repoPath, branch: 'main' },
    });
  }

  /** Deploys project `name` through the API and waits until the rollout ends; returns the rollout. */
  async deploy(name, { timeoutMs = 120_000 } = {}) {
    const { body: rollout } = await this.api('POST', `/projects/${name}/deploy`, {});
    const done = await waitFor(`rollout ${rollout.id} of ${name} to end`, async () => {
      const { body } = await this.api('GET', `/rollouts/${rollout.id}`);
      return body.status !== 'running' && body.status !== 'pending' ? body : null;
    }, { timeoutMs, intervalMs: 300 });
    if (done.status !== 'succeeded') throw new Error(`deploy of ${name} ended ${done.status}: ${JSON.stringify(done)}`);
    return done;
  }

  /** Whether the API reports node `name` online. */
  async nodeOnline(name) {
    const { body } = await this.api('GET', `/nodes/${name}`, undefined, { expect: [200, 404] });
    return Boolean(body && body.online);
  }

  /**
   * Starts `pilot-agent` for node `name`, registered already with `token`
   * (from the overview's add-node form or POST /api/v1/nodes), pinning the
   * server's certificate `fingerprint`. Resolves when it is online.
   */
  async startAgent(name, token, fingerprint) {
    const dir = path.join(this.dir, `agent-${name}`);
    fs.mkdirSync(dir, { recursive: true });
    const tokenFile = path.join(dir, 'node.token');
    fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const args = [
      '--data-dir', path.join(dir, 'data'),
      '--server', `127.0.0.1:${this.agentPort}`,
      '--token-file', tokenFile,
      '--name', name,
      '--public-ip', '127.0.0.1',
      '--runtime', 'host',
    ];
    if (fingerprint) args.push('--tls-fingerprint', fingerprint);
    const proc = new Proc(`pilot-agent ${name}`, agentBin(), args, {
      cwd: dir,
      env: childEnv(this.home),
      logFile: path.join(dir, 'agent.log'),
    });
    this.agents.push(proc);
    await waitFor(`node ${name} to come online`, async () => {
      if (proc.exited) throw new Error(`pilot-agent exited: ${proc.output.slice(-3000)}`);
      return this.nodeOnline(name);
    }, { timeoutMs: 30_000, intervalMs: 250 });
    return proc;
  }

  /** The last lines `pilot up` printed (for failure messages). */
  tail(chars = 4000) {
    return this.proc.output.slice(-chars);
  }

  /**
   * Stops the agents and `pilot up` (and everything they started), copies
   * the logs to the artifacts directory, and removes the temporary
   * directory unless PILOT_KEEP_TMP=1.
   */
  async stop() {
    for (const agent of this.agents) await agent.stop({ graceMs: 15_000 });
    await this.proc.stop({ graceMs: 45_000 });
    const artifacts = artifactsDir();
    try {
      fs.copyFileSync(this.logFile, path.join(artifacts, `server-${this.name}.log`));
      for (const agent of this.agents) {
        fs.copyFileSync(agent.logFile, path.join(artifacts, `agent-${this.name}-${path.basename(path.dirname(agent.logFile))}.log`));
      }
    } catch {
      // Logs are a convenience.
    }
    if (process.env.PILOT_KEEP_TMP === '1') {
      console.log(`# kept ${this.dir}`);
    } else {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** The `--tls-fingerprint` of an agent command line shown by the server. */
export function fingerprintOf(agentCommand) {
  const m = /--tls-fingerprint\s+(\S+)/.exec(agentCommand || '');
  return m ? m[1] : undefined;
}
