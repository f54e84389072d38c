// A small Node.js app in a local git repository, made by the test in its
// temporary directory. A project's git URL may be a plain path on the
// server, so the repository needs no git server. The app is `nodejs` on
// the host runtime (the Node.js running this suite, so it is there), with
// short health-check and watch times so a deploy takes a few seconds.
//
//   GET /health  -> "ok"
//   GET /ANY     -> "hello from browser-app vN", and logs "request GET /ANY"

import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const SERVER_JS = `"use strict";
const fs = require("fs");
const http = require("http");
const version = fs.readFileSync(__dirname + "/VERSION", "utf8").trim();
const server = http.createServer((req, res) => {
  const health = req.url === "/health";
  if (!health) console.log("request " + req.method + " " + req.url);
  const body = health ? "ok\\n" : "hello from browser-app " + version + "\\n";
  res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("browser-app " + version + " listening"));
process.on("SIGTERM", () => { server.close(() => process.exit(0)); server.closeIdleConnections && server.closeIdleConnections(); });
`;

/** The major version of the `node` on PATH (what the host runtime checks). */
function nodeMajor() {
  const banner = execFileSync('node', ['--version'], { encoding: 'utf8' }).trim();
  return banner.replace(/^v/, '').split('.')[0];
}

function config() {
  return JSON.stringify({
    name: 'browser-app',
    type: 'nodejs',
    runtime: { node: nodeMajor() },
    build: { commands: ['node --check server.js'] },
    start: { command: 'exec node server.js' },
    deployment: {
      healthcheck_path: '/health',
      healthcheck_interval: 1,
      healthcheck_timeout: 2,
      healthcheck_retries: 2,
      watch_seconds: 1,
      drain_seconds: 0.5,
    },
  }, null, 2);
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Pilot browser tests',
  GIT_AUTHOR_EMAIL: 'tests@pilot.invalid',
  GIT_COMMITTER_NAME: 'Pilot browser tests',
  GIT_COMMITTER_EMAIL: 'tests@pilot.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

function git(cwd, args) {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...GIT_ENV, HOME: cwd },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** A git repository (branch main) at `<dir>/<name>` holding version `v1` of the app. */
export class AppRepo {
  constructor(dir, name = 'browser-app') {
    this.path = path.join(dir, name);
    fs.mkdirSync(this.path, { recursive: true });
    git(this.path, ['init', '-q', '-b', 'main']);
    fs.writeFileSync(path.join(this.path, 'config.vpspilot.json'), `${config()}\n`);
    fs.writeFileSync(path.join(this.path, 'server.js'), SERVER_JS);
    this.commit('v1');
  }

  /** Commits version `version` (the app answers it); returns the commit id. */
  commit(version) {
    fs.writeFileSync(path.join(this.path, 'VERSION'), `${version}\n`);
    git(this.path, ['add', '-A']);
    git(this.path, ['commit', '-q', '-m', `version ${version}`]);
    return git(this.path, ['rev-parse', 'HEAD']);
  }

  /**
   * Commits a version whose server.js does not parse, so its build
   * (`node --check server.js`) fails; returns the commit id.
   */
  commitBroken() {
    fs.writeFileSync(path.join(this.path, 'server.js'), `${SERVER_JS}\nthis is not javascript(\n`);
    return this.commit('broken');
  }

  /** Puts the working server.js back and commits version `version`. */
  commitFixed(version) {
    fs.writeFileSync(path.join(this.path, 'server.js'), SERVER_JS);
    return this.commit(version);
  }
}

/** What the app answers for version `version`. */
export const answerOf = (version) => `hello from browser-app ${version}`;
