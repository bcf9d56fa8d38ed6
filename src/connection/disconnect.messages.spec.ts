import { decodeAnswer, decodeRequest, encodeMessage } from './disconnect.messages';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('disconnect messages', () => {
  it('reads back what it encodes', () => {
    const request = { i: 'instance-1', n: 7, u: 'eve', r: 'banned' };
    expect(decodeRequest(encodeMessage(request))).toEqual(request);
    const answer = { i: 'instance-2', n: 7, c: 2 };
    expect(decodeAnswer(encodeMessage(answer))).toEqual(answer);
  });

  it.each([
    ['not JSON', '{nope'],
    ['an array', '[1]'],
    ['a missing user', '{"i":"a","n":1,"r":"x"}'],
    ['a fractional request number', '{"i":"a","n":1.5,"u":"eve","r":"x"}'],
    ['a user that is not a string', '{"i":"a","n":1,"u":5,"r":"x"}'],
  ])('ignores a request with %s', (_, text) => {
    expect(decodeRequest(bytes(text))).toBeUndefined();
  });

  it('ignores an answer whose count is not an integer', () => {
    expect(decodeAnswer(bytes('{"i":"a","n":1,"c":"2"}'))).toBeUndefined();
  });
});
