import type { z } from 'zod';

/** Thrown when an environment variable has a bad value; the message names every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
  }
}

/**
 * Parses configuration from an environment map with a zod object schema whose keys are
 * the variable names. Called once, in a service's `main.ts`, never at import time, so tests
 * can pass their own env.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    // An empty variable means "unset": shells make `X=` easy to write by accident.
    if (value !== undefined && value !== '') input[key] = value;
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(config)'),
        message: `${issue.message}${echoValue(String(issue.path[0] ?? ''), input)}`,
      })),
    );
  }
  return result.data;
}

/** Variables whose values must never reach a log or an error message. */
const SECRET_NAME = /SECRET|PASSWORD|TOKEN|CREDS|KEY/;

function echoValue(variable: string, input: Record<string, string>): string {
  const value = input[variable];
  if (!variable || value === undefined) return '';
  return SECRET_NAME.test(variable) ? ' (value hidden)' : ` (got "${value}")`;
}
