import { execFileSync } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { listenWithBacklog } from './listen-with-backlog';

@Module({})
class EmptyModule {}

/** The accept queue of the socket listening on `port`: `ss` shows it as a listener's Send-Q. */
function backlogOf(port: number): number {
  const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
  return Number(line.split(/\s+/)[2]);
}

describe(listenWithBacklog.name, () => {
  let app: INestApplication;

  afterEach(() => app.close());

  it('listens with the backlog asked for, not Node’s default', async () => {
    app = (
      await Test.createTestingModule({ imports: [EmptyModule] }).compile()
    ).createNestApplication({ logger: false });
    // Under the kernel's cap (net.core.somaxconn, 4096 by default since Linux 5.4) and unlike 511.
    await listenWithBacklog(app, 0, 1234);
    const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
    expect(backlogOf(port)).toBe(1234);
  });
});
