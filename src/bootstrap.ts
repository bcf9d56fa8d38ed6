import { Logger, type Type } from '@nestjs/common';
import { NestFactory, type NestApplication } from '@nestjs/core';
import { NatsRefusedError } from '@app/relay';
import { AppConfig, ConfigError, loadConfig } from './config';
import { configureApp } from './configure-app';
import { listenWithBacklog } from './http/listen-with-backlog';

/**
 * Starts one replica of `rootModule`: the application module, or a team's own root module that
 * imports it next to their modules (`@Module({ imports: [AppModule, DocumentsModule] })`).
 * SIGTERM and SIGINT drain and exit 0.
 */
export async function bootstrap(rootModule: Type<unknown>): Promise<NestApplication> {
  // Validated before Nest starts, so a bad variable ends start-up with its message and no stack.
  loadConfig(process.env);
  const app = await NestFactory.create<NestApplication>(rootModule, { bufferLogs: true });
  await configureApp(app);
  const config = app.get(AppConfig);
  await listenWithBacklog(app, config.port, config.listenBacklog);
  const logger = new Logger('Bootstrap');
  // `replica` is on every line already (the logger's base); servers carry no credentials.
  logger.log({
    port: config.port,
    backlog: config.listenBacklog,
    nats: config.natsServers.length > 0 ? config.natsServers : 'embedded',
    msg: 'listening',
  });

  // Nest's enableShutdownHooks re-raises the signal after closing (exit by signal); a drained
  // replica must exit 0, so we close and exit ourselves.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.log({ signal, msg: 'shutting down' });
      app.close(signal).then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error, msg: 'shutdown failed' });
          process.exit(1);
        },
      );
    });
  }
  return app;
}

/**
 * Ends a failed start-up with its reason on stderr (before the logger exists, it is all there is).
 * A bad setting or a broker refusal is the operator's to fix: its message alone, no stack.
 */
export function exitOnStartupError(error: unknown): never {
  const expected = error instanceof ConfigError || error instanceof NatsRefusedError;
  const text = expected ? error.message : String((error as Error).stack ?? error);
  process.stderr.write(`${text}\n`);
  process.exit(1);
}
