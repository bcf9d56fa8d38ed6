import { assertValidSubject, subjectMatches, subjectToken } from './subjects';

describe(subjectToken.name, () => {
  it.each(['alice', 'user_42', 'room:general', 'a-b', 'ABC123'])(
    'keeps the plain value %p unchanged',
    (value) => {
      expect(subjectToken(value)).toBe(value);
    },
  );

  it.each(['a.b', 'with space', '*', '>', '', 'a.>', 'héllo', '~x', 'tab\there', '..'])(
    'encodes %p into one valid, wildcard-free token that decodes back',
    (value) => {
      const token = subjectToken(value);

      expect(token).toMatch(/^~[A-Za-z0-9_-]*$/);
      expect(() => assertValidSubject(`room.${token}`, 'publish')).not.toThrow();
      expect(Buffer.from(token.slice(1), 'base64url').toString('utf8')).toBe(value);
    },
  );

  it('never maps two different values to the same token', () => {
    const values = ['a', '~a', 'a.b', 'a b', 'YQ', '~YQ', '', ' ', '*', '>', 'a.', '.a'];

    const tokens = new Set(values.map(subjectToken));

    expect(tokens.size).toBe(values.length);
  });
});

describe(assertValidSubject.name, () => {
  it.each(['a', 'a.b.c', 'a.*.c', 'a.>', '>', 'a*.b>'])('accepts %p for subscribe', (subject) => {
    expect(() => assertValidSubject(subject, 'subscribe')).not.toThrow();
  });

  it.each(['', '.', 'a.', '.a', 'a..b', 'a b', 'a\tb', 'a.>.b', '>.a'])(
    'refuses %p for subscribe',
    (subject) => {
      expect(() => assertValidSubject(subject, 'subscribe')).toThrow(/invalid subscribe subject/);
    },
  );

  it.each(['a.*', 'a.>', '*'])('refuses the wildcard subject %p for publish', (subject) => {
    expect(() => assertValidSubject(subject, 'publish')).toThrow(/invalid publish subject/);
  });

  it('treats * and > inside a longer token as literal characters', () => {
    expect(() => assertValidSubject('a*.b>', 'publish')).not.toThrow();
  });
});

describe(subjectMatches.name, () => {
  it.each([
    ['a.b', 'a.b', true],
    ['a.b', 'a.c', false],
    ['a.*', 'a.b', true],
    ['a.*', 'a.b.c', false],
    ['a.*', 'a', false],
    ['a.*.c', 'a.b.c', true],
    ['a.>', 'a.b', true],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['>', 'a.b', true],
    ['*.b', 'a.b', true],
    ['a.b', 'a.b.c', false],
    ['a*', 'ab', false],
  ])('pattern %p against %p is %p', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});
