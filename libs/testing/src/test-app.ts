import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';

export interface TestAppOptions {
  /** The application module, plus any module of your own. */
  imports: NonNullable<ModuleMetadata['imports']>;
  /** What main.ts does to the app (adapter, filters, pipes): pass the same function. */
  configure?: (app: INestApplication) => unknown;
  /** Provider overrides, e.g. `(b) => b.overrideProvider(AppConfig).useValue(config)`. */
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
}

export interface TestApp {
  app: INestApplication;
  /** `http://127.0.0.1:port` */
  url: string;
  /** `ws://127.0.0.1:port/ws` */
  wsUrl: string;
  close(): Promise<void>;
}

/** Starts one replica in this process on a free port, from a Nest testing module. */
export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  let builder = Test.createTestingModule({ imports: options.imports });
  if (options.override) builder = options.override(builder);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  try {
    await options.configure?.(app);
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close();
    throw error;
  }
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    close: () => app.close(),
  };
}
