import { Logger } from '@nestjs/common';
import { BadInputLog } from './bad-input-log';

describe(BadInputLog.name, () => {
  let now = 1_000_000;
  let warn: jest.SpyInstance;
  const sut = () => new BadInputLog('Test');

  beforeEach(() => {
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('logs a source once a minute, then says how many lines it held back', () => {
    const log = sut();
    for (let i = 0; i < 500; i++) log.note('conn-1', { reason: 'too deep' });
    expect(warn).toHaveBeenCalledTimes(1);
    now += 60_000;
    log.note('conn-1', { reason: 'too deep' });
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[1]![0]).toMatchObject({ reason: 'too deep', suppressedLastMinute: 499 });
  });

  it('keeps sources apart', () => {
    const log = sut();
    log.note('a', {});
    log.note('b', {});
    log.note('a', {});
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('remembers a bounded number of sources', () => {
    const log = sut();
    for (let i = 0; i <= 10_000; i++) log.note(`source-${i}`, {});
    // The oldest was forgotten to make room: it may log again, the newest may not.
    log.note('source-0', {});
    log.note('source-10000', {});
    expect(warn).toHaveBeenCalledTimes(10_002);
  });
});
