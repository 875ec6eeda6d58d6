import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Result of a child process run with its peak resident set size. */
export interface MeasuredRun {
  code: number | null;
  wallSeconds: number;
  peakRssBytes: number;
  stdout: string;
  stderr: string;
}

function vmHwm(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs `node <args>` and samples its peak RSS (VmHWM from /proc) every 20 ms until it exits. */
export function runMeasured(args: string[], env: NodeJS.ProcessEnv): Promise<MeasuredRun> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let peak = 0;
    let stdout = '';
    let stderr = '';
    const timer = setInterval(() => {
      if (child.pid) peak = Math.max(peak, vmHwm(child.pid));
    }, 20);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', () => {
      if (child.pid) peak = Math.max(peak, vmHwm(child.pid));
    });
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({
        code,
        wallSeconds: Number(process.hrtime.bigint() - started) / 1e9,
        peakRssBytes: peak,
        stdout,
        stderr,
      });
    });
  });
}
