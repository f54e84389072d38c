// Child processes of the suite: started in their own process group, their
// output kept in a log file, and stopped with every descendant (the agent
// starts apps in their own sessions, so a process group is not enough).

import fs from 'node:fs';
import net from 'node:net';
import { spawn } from 'node:child_process';

const ANSI = /\x1b\[[0-9;]*m/g;
const running = new Set();

// If the test process ends early, its servers must not outlive it.
process.on('exit', () => {
  for (const proc of running) proc.killTree('SIGKILL');
});

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `check` until it returns a truthy value (returned) or `timeoutMs` passes (throws `what`). */
export async function waitFor(what, check, { timeoutMs = 30_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** pid → { ppid, start } of every process, from /proc. */
function processTable() {
  const table = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may hold spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), { ppid: Number(fields[1]), start: fields[19] });
    } catch {
      // The process ended meanwhile.
    }
  }
  return table;
}

function startTime(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return null;
  }
}

/** A started program. */
export class Proc {
  /**
   * Starts `program` with `args`; stdout and stderr go to `logFile` (and are
   * kept in memory, ANSI colours removed).
   */
  constructor(name, program, args, { cwd, env, logFile }) {
    this.name = name;
    this.logFile = logFile;
    this.output = '';
    this.exited = null;
    this.known = new Map(); // descendant pid → start time, for the final clean-up
    this.child = spawn(program, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    const log = fs.createWriteStream(logFile, { flags: 'a' });
    const take = (chunk) => {
      const text = chunk.toString('utf8').replace(ANSI, '');
      this.output += text;
      log.write(text);
    };
    this.child.stdout.on('data', take);
    this.child.stderr.on('data', take);
    this.exitedPromise = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        running.delete(this);
        resolve(this.exited);
      });
      this.child.on('error', (error) => {
        this.output += `\n[${name}] could not start: ${error.message}\n`;
        this.exited = { code: null, signal: null, error };
        running.delete(this);
        resolve(this.exited);
      });
    });
    this.exitedPromise.finally(() => log.end());
    running.add(this);
    // Should the process die, what it started is reparented: remember it now and then.
    this.watch = setInterval(() => this.rememberDescendants(), 2000);
    this.watch.unref();
    this.exitedPromise.finally(() => clearInterval(this.watch));
  }

  /** Records the process's descendants now, so they can be stopped even after it is gone. */
  rememberDescendants() {
    if (this.exited) return;
    const table = processTable();
    const children = new Map();
    for (const [pid, { ppid }] of table) {
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(pid);
    }
    const stack = [this.pid];
    while (stack.length) {
      const pid = stack.pop();
      for (const child of children.get(pid) || []) {
        this.known.set(child, table.get(child).start);
        stack.push(child);
      }
    }
  }

  /** Sends `signal` to the process group and to every remembered descendant still alive. */
  killTree(signal) {
    if (!this.exited) {
      try {
        process.kill(-this.pid, signal);
      } catch {
        try {
          process.kill(this.pid, signal);
        } catch {
          // Already gone.
        }
      }
    }
    for (const [pid, start] of this.known) {
      if (startTime(pid) !== start) {
        this.known.delete(pid); // ended (or the pid now belongs to another process)
        continue;
      }
      try {
        process.kill(pid, signal);
      } catch {
        this.known.delete(pid);
      }
    }
  }

  /** Waits until `text` appears in the output; throws when the process ends first or after `timeoutMs`. */
  async waitForOutput(text, timeoutMs) {
    await waitFor(`"${text}" from ${this.name}`, () => {
      if (this.output.includes(text)) return true;
      if (this.exited) {
        throw new Error(`${this.name} exited (${JSON.stringify(this.exited)}) first; its output:\n${this.output.slice(-4000)}`);
      }
      return false;
    }, { timeoutMs });
  }

  /**
   * Stops it: `signal` to the group, up to `graceMs` to end, then SIGKILL;
   * then any descendant left (apps it started in their own sessions).
   */
  async stop({ signal = 'SIGTERM', graceMs = 40_000 } = {}) {
    this.rememberDescendants();
    this.killTree(signal);
    const ended = await Promise.race([this.exitedPromise, sleep(graceMs).then(() => null)]);
    if (!ended) {
      this.output += `\n[${this.name}] did not end within ${graceMs} ms of ${signal}; killing it\n`;
      this.killTree('SIGKILL');
      await this.exitedPromise;
    }
    // What it started and left behind.
    this.killTree('SIGTERM');
    await waitFor(`the processes ${this.name} started to end`, () => {
      this.killTree(0);
      return this.known.size === 0;
    }, { timeoutMs: 5_000 }).catch(() => this.killTree('SIGKILL'));
    return this.exited;
  }
}
