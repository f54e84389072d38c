// Where the suite finds what it drives, and what to do when something is
// missing: fail under CI=true, skip with the reason otherwise.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** tests/browser/ */
export const SUITE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The repository root. */
export const REPO_ROOT = path.resolve(SUITE_DIR, '..', '..');

export const IN_CI = process.env.CI === 'true';

/** The `pilot` binary: $PILOT_BIN, else target/debug/pilot ($CARGO_TARGET_DIR respected). */
export function pilotBin() {
  if (process.env.PILOT_BIN) return path.resolve(process.env.PILOT_BIN);
  const target = process.env.CARGO_TARGET_DIR
    ? path.resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR)
    : path.join(REPO_ROOT, 'target');
  return path.join(target, 'debug', 'pilot');
}

/** The `pilot-agent` binary: $PILOT_AGENT_BIN, else beside `pilot`. */
export function agentBin() {
  if (process.env.PILOT_AGENT_BIN) return path.resolve(process.env.PILOT_AGENT_BIN);
  return path.join(path.dirname(pilotBin()), 'pilot-agent');
}

/** Debian's chromium (browsers that download themselves do not work here). */
export function chromiumPath() {
  return process.env.PILOT_CHROMIUM || '/usr/bin/chromium';
}

/** Where screenshots, server logs and figures go: $PILOT_ARTIFACTS, else tests/browser/artifacts/. */
export function artifactsDir() {
  const dir = process.env.PILOT_ARTIFACTS
    ? path.resolve(process.env.PILOT_ARTIFACTS)
    : path.join(SUITE_DIR, 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** The agents' metrics interval (pilot-agent's default, 5 s). */
export const METRICS_INTERVAL_MS = Number(process.env.PILOT_METRICS_INTERVAL_MS || 5000);

function executable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(program) {
  try {
    execFileSync(program, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function resolvable(pkg) {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

const setupHint = 'scripts/setup/browser.sh installs it';

/**
 * What is missing among `needs` (any of 'pilot', 'agent', 'chromium',
 * 'playwright', 'axe', 'git'), each with why and how to get it.
 */
export function missing(needs) {
  const out = [];
  for (const need of needs) {
    switch (need) {
      case 'pilot':
        if (!executable(pilotBin()))
          out.push(`the pilot binary ${pilotBin()} (build it with cargo build -p pilot-server -p pilot-agent, or set PILOT_BIN)`);
        break;
      case 'agent':
        if (!executable(agentBin()))
          out.push(`the pilot-agent binary ${agentBin()} (cargo build -p pilot-agent, or set PILOT_AGENT_BIN)`);
        break;
      case 'chromium':
        if (!executable(chromiumPath())) out.push(`Chromium at ${chromiumPath()} (${setupHint}; or set PILOT_CHROMIUM)`);
        break;
      case 'playwright':
        if (!resolvable('playwright-core')) out.push(`npm playwright-core in tests/browser/node_modules (${setupHint})`);
        break;
      case 'axe':
        if (!resolvable('axe-core')) out.push(`npm axe-core in tests/browser/node_modules (${setupHint})`);
        break;
      case 'git':
        if (!onPath('git')) out.push('git on PATH (apt-get install git)');
        break;
      default:
        throw new Error(`unknown requirement ${need}`);
    }
  }
  return out;
}

/**
 * The `skip` option for a suite needing `needs`: false when everything is
 * there; the reason (printed) when not. Under CI=true a missing component
 * is an error instead, so the file fails.
 */
export function skipUnlessAvailable(suite, needs) {
  const absent = missing(needs);
  if (absent.length === 0) return false;
  const reason = `${suite} needs ${absent.join('; ')}`;
  if (IN_CI) {
    throw new Error(`${reason} (CI=true: a missing component is a failure, not a skip)`);
  }
  console.log(`# SKIP ${reason}`);
  return `skipped: ${reason}`;
}
