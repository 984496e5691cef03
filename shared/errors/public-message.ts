import type { ErrorBody } from '../protocol/errors.js';

/** Longest error message a client is shown; the whole text goes to the log. */
const MAX_PUBLIC_CHARS = 200;

// Internals a client must never see: URLs (nats://10.0.0.5:4222, http://127.0.0.1:8081/v1),
// IP addresses with or without a port, host:port pairs, and file paths (POSIX, Windows, file:).
const URL = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"()<>]+/gi;
const IPV6_PORT = /\[[0-9a-f:.]+\](?::\d+)?/gi;
const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b/g;
const HOST_PORT = /\b[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?:\d{2,5}\b/gi;
const WIN_PATH = /\b[a-z]:\\[^\s'"()<>]+/gi;
const POSIX_PATH = /(?:^|(?<=[\s'"(=<,:]))(?:~|\.{1,2})?\/[^\s'"()<>,]+/g;
const TRACEBACK = /^\s*(?:Traceback \(most recent call last\)|at\s+\S+.*\(|File\s+")/;

/**
 * The text of an error that may be shown to a client: its first line only (no stack trace or
 * traceback), with addresses and file paths replaced by placeholders, and bounded in length.
 * Callers log the original with the session id; this is what crosses the trust boundary.
 *
 * @example publicMessage('connect ECONNREFUSED 10.0.0.5:4222\n    at f (/srv/a.js:1:2)')
 *   // => 'connect ECONNREFUSED <address>'
 */
export function publicMessage(text: string, fallback = 'internal error'): string {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '' && !TRACEBACK.test(l)) ?? '';
  const clean = line
    .replace(URL, '<address>')
    .replace(IPV6_PORT, '<address>')
    .replace(IPV4, '<address>')
    .replace(WIN_PATH, '<path>')
    .replace(POSIX_PATH, '<path>')
    .replace(HOST_PORT, '<address>')
    .replace(/\s+/g, ' ')
    .trim();
  if (clean === '') return fallback;
  return clean.length > MAX_PUBLIC_CHARS ? `${clean.slice(0, MAX_PUBLIC_CHARS)}...` : clean;
}

/** {@link publicMessage} applied to a typed error's message (code and flags unchanged). */
export function publicError(error: ErrorBody): ErrorBody {
  const message = publicMessage(error.message, error.code.replace(/_/g, ' '));
  return message === error.message ? error : { ...error, message };
}
