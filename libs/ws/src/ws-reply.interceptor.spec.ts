import { encodeReply, replyFrame } from './ws-reply.interceptor';

describe(encodeReply.name, () => {
  class Result {
    constructor(readonly id = 'm1') {}
  }

  it.each([
    ['a plain result and a string ref', 'r1', { id: 'm1', seq: 4 }],
    ['a plain result and a number ref', 7, { id: 'm1', nested: { a: [1, null] } }],
    ['no ref', undefined, { id: 'm1' }],
    ['an empty result', 'r1', {}],
    ['an empty result and no ref', undefined, {}],
    ['no result', 'r1', undefined],
    ['a result with its own ref', 'r1', { ref: 'other', id: 'm1' }],
    ['integer-like keys, which a spread orders first', 'r1', { b: 1, 2: 'x' }],
    ['a class instance', 'r1', new Result()],
    ['undefined values', 'r1', { id: undefined, seq: 1 }],
  ])('is the reply frame, serialized: %s', (_, ref, result) => {
    expect(encodeReply(ref, result)).toBe(JSON.stringify(replyFrame(ref, result)));
  });
});
