/**
 * The ceiling: a plain `ws` server written the way its README's broadcast example writes it. Every
 * incoming message goes to every connected client, the sender included (as our chat.send does).
 * Run by the benchmark as its own process on PORT.
 */
import { WebSocket, WebSocketServer } from 'ws';

const port = Number(process.env.PORT);
const wss = new WebSocketServer({ host: '127.0.0.1', port });

wss.on('connection', (ws) => {
  ws.on('error', () => ws.terminate());
  ws.on('message', (data, isBinary) => {
    wss.clients.forEach((client) => {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
  });
});

wss.on('listening', () => process.stdout.write('ready\n'));
