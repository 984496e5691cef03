import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Histogram } from '../node/histogram.js';
import type { LoadRequest } from '../node/ipc.js';
import type { LoadProfile, LoadReport } from '../node/load-client.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The merged reports of every load-client process. */
export interface MergedReport extends Omit<LoadReport, 'latency' | 'ttft' | 'resume'> {
  latency: Histogram;
  ttft: Histogram;
  resume: Histogram;
}

/**
 * Drives a few load-client processes (one Node process saturates a core near 100k frames/s,
 * so big runs spread streams over several) and merges what they measure.
 */
export class LoadDriver {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(readonly procs: ChildProcess[]) {
    for (const p of procs) {
      p.on('message', (m: { id: number; result?: unknown; error?: string }) => {
        const w = this.pending.get(m.id);
        if (!w) return;
        this.pending.delete(m.id);
        if (m.error) w.reject(new Error(m.error));
        else w.resolve(m.result);
      });
      p.stderr?.on('data', (d: Buffer) => process.stderr.write(`[loadgen] ${d}`));
    }
  }

  static async start(profile: Omit<LoadProfile, 'clientIndex'>, processes: number): Promise<LoadDriver> {
    const main = resolve(here, '..', 'node', 'load-client-main.js');
    const procs = Array.from({ length: processes }, (_, i) =>
      spawn(process.execPath, [main], {
        env: { ...process.env, LOAD_PROFILE: JSON.stringify({ ...profile, clientIndex: i }) },
        stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      }),
    );
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((ok, fail) => {
            p.once('message', () => ok());
            p.once('exit', (code) => fail(new Error(`load client exited (${code}) before it was ready`)));
          }),
      ),
    );
    return new LoadDriver(procs);
  }

  get pids(): number[] {
    return this.procs.map((p) => p.pid!).filter(Boolean);
  }

  private ask<T>(p: ChildProcess, req: LoadRequest): Promise<T> {
    const id = this.nextId++;
    if (!p.connected) return Promise.reject(new Error('load client is gone'));
    return new Promise<T>((res, rej) => {
      this.pending.set(id, { resolve: res as (v: unknown) => void, reject: rej });
      p.send({ ...req, id });
    });
  }

  /** Sends one request to every process (`perProcess` may tailor it, e.g. to split a stream count). */
  all<T>(req: LoadRequest, perProcess?: (i: number, n: number) => LoadRequest): Promise<T[]> {
    return Promise.all(
      this.procs.map((p, i) => this.ask<T>(p, perProcess ? perProcess(i, this.procs.length) : req)),
    );
  }

  /** Grows to `total` streams spread evenly over the processes. */
  async setStreams(total: number): Promise<{ streams: number; failed: number }> {
    const r = await this.all<{ streams: number; failed: number }>({ cmd: 'streams', n: 0 }, (i, n) => ({
      cmd: 'streams',
      n: Math.floor(total / n) + (i < total % n ? 1 : 0),
    }));
    return { streams: r.reduce((a, x) => a + x.streams, 0), failed: r.reduce((a, x) => a + x.failed, 0) };
  }

  async report(): Promise<MergedReport> {
    const rs = await this.all<LoadReport>({ cmd: 'report' });
    const m: MergedReport = {
      streams: 0,
      idleStreams: 0,
      latency: new Histogram(),
      ttft: new Histogram(),
      resume: new Histogram(),
      events: 0,
      sessionsStarted: 0,
      sessionsDone: 0,
      sessionErrors: 0,
      requestErrors: 0,
      errorCodes: {},
      textChecked: 0,
      textMismatch: 0,
      disconnects: 0,
      faults: { lost: 0, duplicated: 0, reordered: 0 },
      stray: 0,
      totals: {
        events: 0,
        sessionsDone: 0,
        sessionErrors: 0,
        requestErrors: 0,
        textChecked: 0,
        textMismatch: 0,
      },
    };
    for (const r of rs) {
      m.latency.merge(r.latency);
      m.ttft.merge(r.ttft);
      m.resume.merge(r.resume);
      for (const k of [
        'streams',
        'idleStreams',
        'events',
        'sessionsStarted',
        'sessionsDone',
        'sessionErrors',
        'requestErrors',
        'textChecked',
        'textMismatch',
        'disconnects',
        'stray',
      ] as const)
        m[k] += r[k];
      for (const [c, n] of Object.entries(r.errorCodes)) m.errorCodes[c] = (m.errorCodes[c] ?? 0) + n;
      m.faults.lost += r.faults.lost;
      m.faults.duplicated += r.faults.duplicated;
      m.faults.reordered += r.faults.reordered;
      m.mismatchSample ??= r.mismatchSample;
      for (const k of Object.keys(m.totals) as (keyof typeof m.totals)[]) m.totals[k] += r.totals[k];
    }
    return m;
  }

  async stop(): Promise<void> {
    if (this.procs.every((p) => !p.connected)) return;
    await this.all({ cmd: 'exit' }).catch(() => undefined);
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((r) => {
            if (p.exitCode !== null) return r();
            const t = setTimeout(() => p.kill('SIGKILL'), 3_000);
            p.once('exit', () => {
              clearTimeout(t);
              r();
            });
          }),
      ),
    );
  }
}
