import { describe, expect, it } from 'vitest';
import { bearerFromAuthorization, offeredCredentials } from './bearer-token.js';

describe('auth - bearer token extraction', () => {
  it('reads the Authorization header, scheme case-insensitive', () => {
    expect(bearerFromAuthorization('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerFromAuthorization('bearer   abc.def-_')).toBe('abc.def-_');
    expect(bearerFromAuthorization('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerFromAuthorization('Bearer ')).toBeUndefined();
    expect(bearerFromAuthorization('Bearer a b')).toBeUndefined();
  });

  it('takes the token from a bearer. subprotocol and echoes only streamfabric.v1', () => {
    const c = offeredCredentials({ 'sec-websocket-protocol': 'streamfabric.v1, bearer.aaa.bbb.ccc' });
    expect(c).toEqual({ token: 'aaa.bbb.ccc', protocol: 'streamfabric.v1' });
  });

  it('echoes nothing when our protocol was not offered, and prefers the Authorization header', () => {
    expect(offeredCredentials({ 'sec-websocket-protocol': 'bearer.x.y.z' })).toEqual({
      token: 'x.y.z',
      protocol: '',
    });
    expect(
      offeredCredentials({ authorization: 'Bearer h.h.h', 'sec-websocket-protocol': 'bearer.p.p.p' }).token,
    ).toBe('h.h.h');
    expect(offeredCredentials({}).token).toBeUndefined();
  });
});
