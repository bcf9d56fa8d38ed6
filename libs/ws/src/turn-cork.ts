import type { Socket } from 'node:net';

/**
 * Batches a turn's writes to a socket into one syscall. nats.js parses a whole read chunk in one
 * turn and calls the relay's callbacks synchronously for each message in it, so a socket often
 * gets several frames in a turn (every member of a big room gets every message of the chunk); a
 * socket written uncorked pays one `write` syscall per frame, the largest item of a replica's CPU
 * profile. Corked at its first frame and uncorked once the turn ends, Node writes the batch with
 * one `writev`, in the order written.
 *
 * The uncork runs on `process.nextTick`, scheduled once for every socket corked in the turn:
 * ticks run after the current callback and after the microtasks it queued (nats.js's parse loop
 * is a chain of microtasks), so a batch never waits past the turn that wrote it, a lone reply
 * included. Corked bytes count in the socket's `writableLength`, so `bufferedAmount` (the
 * buffered-bytes bound) and the `drain` event are unchanged.
 */
let corked: Socket[] = [];

function uncorkAll(): void {
  const sockets = corked;
  corked = [];
  // A socket corked by `end()` meanwhile was uncorked by it; `uncork()` is then a no-op.
  for (const socket of sockets) socket.uncork();
}

/** Corks `socket` until the current turn ends, unless it is corked already. */
export function corkUntilTurnEnds(socket: Socket): void {
  // Corked already: by an earlier frame of this turn.
  if (socket.writableCorked > 0) return;
  socket.cork();
  if (corked.push(socket) === 1) process.nextTick(uncorkAll);
}
