import type { INestApplication } from '@nestjs/common';

/**
 * `app.listen` with the kernel's accept queue set. Checked against @nestjs/core 11 and
 * platform-express 11: Nest types `listen(port, hostname?)` only, but passes every argument on to
 * Node's `server.listen(port, host, backlog)`. Node's default backlog (511) overflows when thousands
 * of clients of a dead replica reconnect at once: the kernel then drops their SYNs and each waits
 * for a retransmit (1 s, 3 s, 7 s …). An undefined host keeps Node's default (every address).
 */
export async function listenWithBacklog(
  app: INestApplication,
  port: number,
  backlog: number,
): Promise<void> {
  const listen = app.listen.bind(app) as (
    port: number,
    host: string | undefined,
    backlog: number,
  ) => Promise<unknown>;
  await listen(port, undefined, backlog);
}
