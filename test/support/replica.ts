import { startTestApp, type TestApp, type TestAppOptions } from '@app/testing';
import { AppModule } from '../../src/app.module';
import { AppConfig, loadConfig } from '../../src/config';
import { configureApp } from '../../src/configure-app';

/**
 * One replica of the real application in this jest process, configured by `env`. `modules` are
 * loaded next to AppModule, the way a team's own module is (docs/extending.md).
 */
export function startReplica(
  env: Record<string, string> = {},
  modules: TestAppOptions['imports'] = [],
): Promise<TestApp> {
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', LOG_LEVEL: 'warn', ...env });
  return startTestApp({
    imports: [AppModule, ...modules],
    configure: configureApp,
    override: (builder) => builder.overrideProvider(AppConfig).useValue(config),
  });
}
