/**
 * A load-generator process (forked by the orchestrator): it owns sockets and answers commands sent
 * over IPC, so that the clients never share a process with a server they measure.
 */
import { Chatters } from './lib/chatters';
import { IdleClients } from './lib/idle-clients';
import type { CommandName, Commands, Request, Response } from './lib/protocol';
import { Publisher } from './lib/publisher';
import { Subscribers } from './lib/subscriber';

/** However the orchestrator ends, a worker never outlives this. */
const MAX_LIFETIME_MS = 10 * 60_000;

const subscribers = new Subscribers();
const publisher = new Publisher();
const idle = new IdleClients();
const chatters = new Chatters();

type Handlers = { [K in CommandName]: (args: Commands[K]['args']) => unknown };

const handlers: Handlers = {
  subscribe: (args) => subscribers.subscribe(args),
  window: (args) => subscribers.window(args),
  drain: (args) => subscribers.drain(args),
  publisherSetup: (args) => publisher.setup(args),
  publish: (args) => publisher.publish(args),
  connectIdle: (args) => idle.connect(args),
  chatSetup: (args) => chatters.open(args),
  chat: (args) => chatters.run(args),
  closeAll: () => {
    subscribers.closeAll();
    chatters.closeAll();
    idle.closeAll();
    return null;
  },
};

function handle<K extends CommandName>(request: Request<K>): unknown {
  const handler = handlers[request.command];
  return handler(request.args);
}

process.on('message', (message: Request) => {
  Promise.resolve()
    .then(() => handle(message))
    .then(
      (result): Response => ({ id: message.id, ok: true, result: result ?? null }),
      (error: unknown): Response => ({ id: message.id, ok: false, error: String(error) }),
    )
    .then((response) => process.send?.(response))
    .catch(() => process.exit(1));
});

process.send?.({ ready: true });

// The orchestrator gone (or killed) means the run is over.
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(2), MAX_LIFETIME_MS).unref();
