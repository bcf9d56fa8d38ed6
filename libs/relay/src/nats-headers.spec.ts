import { ErrorCode, type NatsError } from 'nats';
import { MsgHdrsImpl } from 'nats/lib/nats-base-client/headers';
import { EncodedHeaders, fromNatsHeaders, parseHeaderBlock } from './nats-headers';

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString();

describe(EncodedHeaders.name, () => {
  it('encodes the bytes nats.js would encode for the same record', () => {
    const record = { 'Rt-Origin': ' conn-1 ', 'Nats-Msg-Id': 'abc.1k', 'x-lower': 'é ü' };
    const theirs = new MsgHdrsImpl();
    for (const [key, value] of Object.entries(record)) theirs.set(key, value);

    expect(text(new EncodedHeaders(record).encode())).toBe(text(theirs.encode()));
  });

  it('reads back the values sent, trimmed', () => {
    const hdrs = new EncodedHeaders({ 'Rt-Origin': ' conn-1 ', 'Nats-Msg-Id': 'abc' });

    expect(hdrs.get('Rt-Origin')).toBe('conn-1');
    expect(hdrs.get('Missing')).toBe('');
    expect(hdrs.keys()).toEqual(['Rt-Origin', 'Nats-Msg-Id']);
    expect([...hdrs]).toEqual([
      ['Rt-Origin', ['conn-1']],
      ['Nats-Msg-Id', ['abc']],
    ]);
    expect(() => hdrs.set()).toThrow(/read-only/);
  });

  it.each([
    ['a value with a line break', { 'Nats-Msg-Id': 'a\r\nInjected: x' }],
    ['a key with a colon', { 'Bad:Key': 'v' }],
    ['a key with a space', { 'Bad Key': 'v' }],
  ])('refuses %s as nats.js does, with BAD_HEADER', (_, record) => {
    const theirs = new MsgHdrsImpl();
    const refusal = (build: () => unknown): string | undefined => {
      try {
        build();
      } catch (err) {
        return (err as NatsError).code;
      }
      return undefined;
    };

    expect(refusal(() => Object.entries(record).forEach(([k, v]) => theirs.set(k, v)))).toBe(
      ErrorCode.BadHeader,
    );
    expect(refusal(() => new EncodedHeaders(record))).toBe(ErrorCode.BadHeader);
  });
});

describe(parseHeaderBlock.name, () => {
  it.each([
    [
      'a republished message',
      'NATS/1.0\r\nRt-Origin: c1\r\nNats-Msg-Id: p.1\r\nNats-Stream: history\r\n' +
        'Nats-Subject: rt.room.a\r\nNats-Sequence: 12\r\nNats-Time-Stamp: 2026-12-05T21:12:18Z\r\n' +
        'Nats-Last-Sequence: 11\r\n\r\n',
    ],
    [
      'a status line, a repeated key, padded values',
      'NATS/1.0 503 No Responders\r\nA:  x \r\nA: y\r\nB:\r\n\r\n',
    ],
    ['a value with a colon and UTF-8', 'NATS/1.0\r\nWhen: 21:12 é\r\n\r\n'],
    ['no header at all', 'NATS/1.0\r\n\r\n'],
  ])('gives what decoding with nats.js gives, for %s', (_, block) => {
    const bytes = Buffer.from(block);

    expect(parseHeaderBlock(bytes)).toEqual(fromNatsHeaders(MsgHdrsImpl.decode(bytes)));
  });

  it('reads a block inside a larger buffer (a view of the received bytes)', () => {
    const bytes = Buffer.from('xxNATS/1.0\r\nNats-Sequence: 7\r\n\r\n{"event":"e"}');

    expect(parseHeaderBlock(bytes.subarray(2, 32))).toEqual({ 'Nats-Sequence': '7' });
  });
});
