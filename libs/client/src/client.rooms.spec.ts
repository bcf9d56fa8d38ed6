import { flush, rejectionOf, startLiveClient } from './testing/harness';

describe('RealtimeClient rooms: history, removal, and a session ended by the server', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('history() asks chat.history and resolves with the page, newest last', async () => {
    const { server, client } = await startLiveClient();
    const page = client.history({ room: 'lobby', before: 40, limit: 2 });
    expect(server.last.request('chat.history').data).toEqual({
      room: 'lobby',
      before: 40,
      limit: 2,
      ref: expect.any(Number),
    });
    const messages = [30, 35].map((seq) => ({
      room: 'lobby',
      id: `m${seq}`,
      seq,
      from: 'bob',
      body: 'hi',
      ts: 1,
    }));
    server.last.reply('chat.history', { room: 'lobby', epoch: 'e1', messages, hasMore: true });
    await expect(page).resolves.toEqual({ room: 'lobby', epoch: 'e1', messages, hasMore: true });

    const newest = client.history({ room: 'lobby' });
    expect(server.last.request('chat.history').data).toEqual({
      room: 'lobby',
      ref: expect.any(Number),
    });
    server.last.reply('chat.history', { room: 'lobby', epoch: 'e1', messages: [{ seq: 'x' }] });
    expect(await rejectionOf(newest)).toMatchObject({ code: 'protocol', event: 'chat.history' });
    await client.close();
  });

  it('4003: reports the reason, does not reconnect, and rejects what waits', async () => {
    const { server, client, of } = await startLiveClient({ getToken: () => 'fresh' });
    const unanswered = rejectionOf(client.send('lobby', 'in flight'));
    server.last.serverClose(4003, 'account suspended');
    expect(client.state).toBe('closed');
    expect(of('disconnect')).toEqual([
      { code: 4003, reason: 'account suspended', url: expect.any(String) as string },
    ]);
    expect(of('error')).toMatchObject([
      {
        code: 'disconnected',
        closeCode: 4003,
        message: expect.stringContaining('account suspended'),
      },
    ]);
    await flush(60_000);
    expect(server.sockets).toHaveLength(1);
    expect(await unanswered).toMatchObject({ code: 'disconnected', event: 'chat.send' });
  });

  it('chat.removed: emits removed and does not re-join the room after a reconnect', async () => {
    const { server, client, of } = await startLiveClient();
    for (const room of ['team:7', 'lobby']) {
      const joined = client.join(room);
      server.last.reply('chat.join', { seq: 0, epoch: 'e1', recovered: true });
      await joined;
    }
    server.last.deliver('chat.removed', { room: 'team:7', reason: 'permission_revoked' });
    expect(of('removed')).toEqual([{ room: 'team:7', reason: 'permission_revoked' }]);
    expect(Object.keys(client.positions().rooms)).toEqual(['lobby']);

    server.last.serverClose(1006);
    await flush(1_000);
    server.last.welcome();
    expect(server.last.requests('chat.join').map((f) => f.data.room)).toEqual(['lobby']);
    await client.close();
  });
});
