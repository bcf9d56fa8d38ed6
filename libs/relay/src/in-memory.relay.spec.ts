import { InMemoryBus, InMemoryRelay } from './in-memory.relay';
import { describeRelayContract, freshSubject, Inbox, text } from './relay.contract';

describeRelayContract(InMemoryRelay.name, () => {
  const bus = new InMemoryBus();
  return Promise.resolve({
    a: new InMemoryRelay(bus),
    b: new InMemoryRelay(bus),
    close: () => Promise.resolve(),
  });
});

describe(InMemoryRelay.name, () => {
  it('keeps relays on different buses apart', async () => {
    const sut = new InMemoryRelay();
    const other = new InMemoryRelay();
    const subject = freshSubject('private');
    const elsewhere = new Inbox(other, subject);
    const here = new Inbox(sut, subject);

    await sut.publishEphemeral(subject, text('local'));

    await here.waitFor(1, 'the message on the publishing relay');
    expect(elsewhere.texts).toEqual([]);
  });

  it('delivers asynchronously, after publish returns', async () => {
    const sut = new InMemoryRelay();
    const subject = freshSubject('async');
    const inbox = new Inbox(sut, subject);

    const published = sut.publishEphemeral(subject, text('later'));
    expect(inbox.texts).toEqual([]);

    await published;
    await inbox.waitFor(1, 'the message');
    expect(inbox.texts).toEqual(['later']);
  });

  it('drops messages already queued for a handler removed before delivery', async () => {
    const sut = new InMemoryRelay();
    const subject = freshSubject('queued');
    const removed = new Inbox(sut, subject);
    const kept = new Inbox(sut, subject);

    const published = sut.publishEphemeral(subject, text('queued'));
    removed.unsubscribe();
    await published;

    await kept.waitFor(1, 'the message at the remaining handler');
    expect(removed.texts).toEqual([]);
  });

  it('is always connected and never reports a state change', () => {
    const sut = new InMemoryRelay();
    const changes: string[] = [];
    sut.onStateChange((s) => changes.push(s))();

    expect(sut.state).toBe('connected');
    expect(changes).toEqual([]);
  });
});
