/**
 * The ceiling: the lean `ws` server a performance-minded engineer writes for the same chat
 * workloads. Rooms are a `Map<room, Set<socket>>` fixed at connect time (`/?room=r`); a message
 * from a room member is sent, as the bytes it arrived as, to every member (the sender included, as
 * our chat.send does). A socket without a room is a user (`/?user=u`) whose frames are direct
 * messages: `data.to` is read and the received bytes go to that user's sockets, nothing else.
 * No per-send checks: a closed socket leaves its room at once. Run by the benchmark on PORT.
 */
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

const port = Number(process.env.PORT);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: false,
  clientTracking: false,
});

const rooms = new Map<string, Set<WebSocket>>();
const users = new Map<string, Set<WebSocket>>();
const TEXT = { binary: false } as const;

function add(index: Map<string, Set<WebSocket>>, key: string, ws: WebSocket): Set<WebSocket> {
  let members = index.get(key);
  if (!members) index.set(key, (members = new Set()));
  members.add(ws);
  ws.on('close', () => {
    members.delete(ws);
    if (members.size === 0) index.delete(key);
  });
  return members;
}

function recipientOf(data: RawData): string | undefined {
  try {
    const frame = JSON.parse((data as Buffer).toString()) as { data?: { to?: unknown } };
    return typeof frame.data?.to === 'string' ? frame.data.to : undefined;
  } catch {
    return undefined;
  }
}

wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
  const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
  const room = query.get('room');
  const user = query.get('user');
  ws.on('error', () => ws.terminate());
  if (user) add(users, user, ws);
  if (room) {
    const members = add(rooms, room, ws);
    ws.on('message', (data) => {
      for (const member of members) member.send(data, TEXT);
    });
  } else {
    ws.on('message', (data) => {
      const to = recipientOf(data);
      const sockets = to === undefined ? undefined : users.get(to);
      if (sockets) for (const socket of sockets) socket.send(data, TEXT);
    });
  }
});

wss.on('listening', () => process.stdout.write('ready\n'));
