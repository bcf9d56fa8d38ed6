import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startNatsServer,
  startReplicas,
  WsTestClient,
  type NatsServerHandle,
  type Replicas,
  type TestApp,
} from '@app/testing';
import type { ChannelPosition, Published } from '@app/channels';
import type { DocumentOpEvent } from '../fixtures/documents/documents.events';
import { DocumentsModule } from '../fixtures/documents/documents.module';
import { DOCUMENTS_EDIT_SCOPE } from '../fixtures/documents/documents.service';
import { DocumentsEvent } from '../fixtures/documents/documents.subjects';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

const ROOT = join(__dirname, '..', '..');

describe('extending: a team module (test/fixtures/documents) across two replicas', () => {
  let nats: NatsServerHandle;
  let replicas: Replicas<TestApp, 2>;
  let one: TestApp;
  let two: TestApp;
  const clients: WsTestClient[] = [];

  /** An editor's token carries the scope; `null` opens an anonymous connection. */
  const open = async (app: TestApp, user: string | null, scope?: string) => {
    const token = user === null ? undefined : tokenFor(user, { scope });
    const client = await WsTestClient.open(app.wsUrl, { token });
    clients.push(client);
    return client;
  };
  const editor = (app: TestApp, user: string) => open(app, user, DOCUMENTS_EDIT_SCOPE);

  beforeAll(async () => {
    nats = await startNatsServer();
    replicas = await startReplicas(2, (i) =>
      startReplica({ NATS_URL: nats.url, REPLICA_ID: `docs-${i + 1}` }, [DocumentsModule]),
    );
    [one, two] = replicas.apps;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await replicas?.closeAll();
    await nats?.stop();
  });

  it('relays an edit on replica 1 to a watcher on replica 2, and not back to its editor', async () => {
    const ada = await editor(one, 'ada');
    const grace = await editor(two, 'grace');
    const watcher = await open(two, null);
    // A `.` in the id exercises subjectToken: the channel stays one NATS token.
    for (const c of [ada, grace, watcher]) await c.call(DocumentsEvent.Open, { doc: 'spec.md' });

    const op = { at: 3, insert: 'hello' };
    const sent = await ada.call<Published>(DocumentsEvent.Edit, { doc: 'spec.md', op });
    const seen = await watcher.nextEvent<DocumentOpEvent>(DocumentsEvent.Op);
    expect(seen.data).toMatchObject({
      doc: 'spec.md',
      from: 'ada',
      op,
      id: sent.id,
      seq: sent.seq,
    });
    expect((await grace.nextEvent<DocumentOpEvent>(DocumentsEvent.Op)).data.id).toBe(sent.id);

    // Grace's edit reaches ada; had ada's own edit been echoed to her, it would have come first.
    const marker = await grace.call<Published>(DocumentsEvent.Edit, {
      doc: 'spec.md',
      op: { at: 0 },
    });
    expect((await ada.nextEvent<DocumentOpEvent>(DocumentsEvent.Op)).data.id).toBe(marker.id);
    expect(ada.unread.filter((f) => f.event === DocumentsEvent.Op)).toEqual([]);
  });

  it('lets anyone watch but refuses edits: unauthorized when anonymous, forbidden without the scope', async () => {
    const anonymous = await open(one, null);
    const reader = await open(one, 'linus'); // signed in, but no documents:edit scope
    const watcher = await open(two, null);
    for (const c of [anonymous, reader, watcher]) {
      await c.call(DocumentsEvent.Open, { doc: 'locked' });
    }

    const asAnonymous = await anonymous.request(DocumentsEvent.Edit, {
      doc: 'locked',
      op: { at: 0 },
    });
    expect(asAnonymous).toMatchObject({ event: 'error', data: { code: 'unauthorized' } });
    const asReader = await reader.request(DocumentsEvent.Edit, { doc: 'locked', op: { at: 0 } });
    expect(asReader).toMatchObject({
      event: 'error',
      data: {
        code: 'forbidden',
        message: expect.stringContaining(DOCUMENTS_EDIT_SCOPE) as unknown,
      },
    });

    // Nothing refused was published: the first op the watcher sees is the allowed one.
    const allowed = await (
      await editor(one, 'barbara')
    ).call<Published>(DocumentsEvent.Edit, {
      doc: 'locked',
      op: { at: 1, delete: 2 },
    });
    const first = await watcher.nextEvent<DocumentOpEvent>(DocumentsEvent.Op);
    expect(first.data).toMatchObject({ id: allowed.id, from: 'barbara' });
  });

  it('answers a bad request with bad_request naming each field, nested ones by path', async () => {
    const client = await editor(one, 'ken');
    const answer = await client.request(DocumentsEvent.Edit, {
      doc: 'no spaces allowed',
      op: { at: -1, colour: 'red' },
    });
    expect(answer).toMatchObject({ event: 'error', data: { code: 'bad_request' } });
    const fields = (answer.data.fields as Array<{ field: string }>).map((f) => f.field).sort();
    expect(fields).toEqual(['doc', 'op.at', 'op.colour']);

    const missingOp = await client.request(DocumentsEvent.Edit, { doc: 'spec.md' });
    expect(missingOp).toMatchObject({ event: 'error', data: { code: 'bad_request' } });
    expect(missingOp.data.fields).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'op' })]),
    );
  });

  it('resumes on the other replica with exactly the missed ops, then live ones', async () => {
    const writer = await editor(one, 'margaret');
    const reader = await open(two, 'alan');
    const joined = await reader.call<ChannelPosition>(DocumentsEvent.Open, { doc: 'resume' });
    for (let i = 0; i < 3; i++) {
      await writer.call(DocumentsEvent.Edit, { doc: 'resume', op: { at: i, insert: `seen${i}` } });
    }
    const seen = await reader.take<DocumentOpEvent>(DocumentsEvent.Op, 3);
    const lastSeen = seen[2]!.seq;
    await reader.close();

    const missed: Published[] = [];
    for (let i = 0; i < 4; i++) {
      const op = { at: i, insert: `missed${i}` };
      missed.push(await writer.call<Published>(DocumentsEvent.Edit, { doc: 'resume', op }));
    }

    const back = await open(one, 'alan');
    const resumed = await back.call<ChannelPosition>(DocumentsEvent.Open, {
      doc: 'resume',
      since: lastSeen,
      epoch: joined.epoch,
    });
    expect(resumed).toMatchObject({ recovered: true, epoch: joined.epoch, seq: missed[3]!.seq });
    const replayed = await back.take<DocumentOpEvent>(DocumentsEvent.Op, 4);
    expect(replayed.map((m) => m.id)).toEqual(missed.map((m) => m.id));
    expect(replayed.map((m) => m.op.insert)).toEqual(['missed0', 'missed1', 'missed2', 'missed3']);

    const live = await writer.call<Published>(DocumentsEvent.Edit, {
      doc: 'resume',
      op: { at: 0 },
    });
    expect((await back.nextEvent<DocumentOpEvent>(DocumentsEvent.Op)).data.seq).toBe(live.seq);
    expect(back.unread.filter((f) => f.event === DocumentsEvent.Op)).toEqual([]);
  });

  it('docs/extending.md quotes the fixture files as they are', () => {
    const guide = readFileSync(join(ROOT, 'docs', 'extending.md'), 'utf8');
    // Each excerpt is a ```ts block right after `<!-- file: path -->`, copied verbatim from path.
    const excerpts = [...guide.matchAll(/<!-- file: (\S+) -->\n```ts\n([\s\S]*?)```/g)];
    expect(excerpts.length).toBeGreaterThanOrEqual(8);
    const stale = excerpts
      .filter(([, path, code]) => !readFileSync(join(ROOT, path!), 'utf8').includes(code!))
      .map(([, path]) => path);
    expect(stale).toEqual([]);
  });
});
