/** An unsigned JWT-shaped token with `claims`: the client only reads `exp`, never verifies. */
export function fakeJwt(claims: Record<string, unknown>): string {
  const encode = (value: object): string =>
    btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(value))))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  return `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}.signature`;
}
