import type { HistogramData } from './histogram.js';
import type { SeqFaults } from './seq-checker.js';
import type { TransportKind } from './transport.js';

/** How each stream behaves: LLM-shaped sessions run back to back on one connection per stream. */
export interface LoadProfile {
  kind: TransportKind;
  urls: string[];
  /** Per URL, where sessions are started when the socket's server does not start them (Centrifugo). */
  startUrls?: string[];
  /** Distinguishes the session ids of several load-client processes. */
  clientIndex: number;
  /** Model tokens per session (each session gets 75-125 % of it, so streams drift apart). */
  length: number;
  tokensPerSecond: number;
  flushIntervalMs: number;
  thinkMs: number;
  /** Check the final text of one session in this many against the built-in model. */
  checkEvery: number;
  /** New connections per second while ramping up. */
  connectRate: number;
}

/** What a load-client process reports (the runner merges the reports of every process). */
export interface LoadReport {
  streams: number;
  idleStreams: number;
  latency: HistogramData;
  ttft: HistogramData;
  resume: HistogramData;
  events: number;
  sessionsStarted: number;
  sessionsDone: number;
  sessionErrors: number;
  requestErrors: number;
  errorCodes: Record<string, number>;
  textChecked: number;
  textMismatch: number;
  mismatchSample?: string;
  disconnects: number;
  /** Cumulative since the process started (faults never reset). */
  faults: SeqFaults;
  stray: number;
  /** Cumulative counters since the process started (the others cover the current window). */
  totals: Totals;
}

/** Counters that the final verdict needs over the whole run, not one window. */
export interface Totals {
  events: number;
  sessionsDone: number;
  sessionErrors: number;
  requestErrors: number;
  textChecked: number;
  textMismatch: number;
}
/** The keys of {@link Totals}. */
export const TOTAL_KEYS = [
  'events',
  'sessionsDone',
  'sessionErrors',
  'requestErrors',
  'textChecked',
  'textMismatch',
] as const;
