import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/** The HS256 secret test gateways use (AUTH_JWT_SECRET must be >= 32 characters). */
export const TEST_SECRET = 'test-secret-for-streamfabric-security-suite-0123456789';

export interface TokenClaims {
  sub?: string;
  tenant?: string;
  agents?: string[] | string;
  /** Seconds from now; negative = already expired. Default 3600. */
  expiresIn?: number;
  /** Omit `exp` entirely. */
  noExp?: boolean;
  iss?: string;
  aud?: string;
  [claim: string]: unknown;
}

/** Signs an HS256 token with `secret` (default {@link TEST_SECRET}). */
export async function hsToken(claims: TokenClaims, secret = TEST_SECRET): Promise<string> {
  return build(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
}

/** An asymmetric key pair with its public JWKS, for JWKS-file and JWKS-URL tests. */
export async function keyPair(alg: 'RS256' | 'ES256', kid: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return {
    jwks: { keys: [jwk] },
    sign: (claims: TokenClaims) => build(claims).setProtectedHeader({ alg, kid }).sign(privateKey),
  };
}

function build(c: TokenClaims): SignJWT {
  const { sub, expiresIn, noExp, iss, aud, ...rest } = c;
  const jwt = new SignJWT({ tenant: 'acme', ...rest }).setIssuedAt();
  if (sub !== undefined) jwt.setSubject(sub);
  if (!noExp) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (expiresIn ?? 3600));
  if (iss) jwt.setIssuer(iss);
  if (aud) jwt.setAudience(aud);
  return jwt;
}
