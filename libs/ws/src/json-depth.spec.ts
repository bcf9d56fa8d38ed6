import { exceedsJsonDepth } from './json-depth';

const bytes = (text: string) => Buffer.from(text, 'utf8');
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe(exceedsJsonDepth.name, () => {
  it.each([
    ['a scalar', '42', 0, false],
    ['an empty object at its limit', '{}', 1, false],
    ['an empty object over a limit of 0', '{}', 0, true],
    ['arrays exactly at the limit', nested(32), 32, false],
    ['arrays one level over', nested(33), 32, true],
    ['objects and arrays mixed', '{"a":[{"b":[1]}]}', 4, false],
    ['objects and arrays mixed, one over', '{"a":[{"b":[1]}]}', 3, true],
    ['siblings do not add up', '[[1],[2],[3],[4]]', 2, false],
  ])('%s', (_what, text, max, expected) => {
    expect(exceedsJsonDepth(bytes(text), max)).toBe(expected);
  });

  it('ignores brackets inside strings', () => {
    expect(exceedsJsonDepth(bytes(JSON.stringify({ s: nested(100) })), 1)).toBe(false);
  });

  it('handles escaped quotes and backslashes inside strings', () => {
    const text = JSON.stringify({ s: 'say \\"[[[[ and \\\\', t: '"{{{{"' });
    expect(exceedsJsonDepth(bytes(text), 1)).toBe(false);
    expect(exceedsJsonDepth(bytes(JSON.stringify([{ s: '\\' }, [[]]])), 2)).toBe(true);
  });

  it('skips multi-byte UTF-8 characters', () => {
    expect(exceedsJsonDepth(bytes('{"é[":"日本[{"}'), 1)).toBe(false);
    expect(exceedsJsonDepth(bytes('[["日本"]]'), 1)).toBe(true);
  });

  it('refuses the attack at once, whatever its length', () => {
    const attack = bytes(`{"event":"x","data":{"x":${nested(30_000)}}}`);
    expect(exceedsJsonDepth(attack, 32)).toBe(true);
  });

  it('agrees with the real depth of random documents', () => {
    const depthOf = (value: unknown): number =>
      typeof value === 'object' && value !== null
        ? 1 + Math.max(0, ...Object.values(value).map(depthOf))
        : 0;
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const make = (level: number): unknown => {
      const r = random();
      if (level > 6 || r < 0.3) return r < 0.15 ? 'x"[{\\' : 1;
      if (r < 0.65)
        return Array.from({ length: 1 + Math.floor(random() * 3) }, () => make(level + 1));
      return { [`k${level}{`]: make(level + 1), '"]': make(level + 1) };
    };
    for (let i = 0; i < 200; i++) {
      const doc = make(0);
      const depth = depthOf(doc);
      const text = bytes(JSON.stringify(doc));
      expect(exceedsJsonDepth(text, depth)).toBe(false);
      if (depth > 0) expect(exceedsJsonDepth(text, depth - 1)).toBe(true);
    }
  });
});
