import { Global, Module } from '@nestjs/common';
import { AppConfig, loadConfig } from './app-config';

/**
 * Provides the one `AppConfig`, built from the environment when the module is instantiated (not when
 * it is imported), so that tests can start several replicas with `overrideProvider(AppConfig)`.
 */
@Global()
@Module({
  providers: [{ provide: AppConfig, useFactory: () => loadConfig(process.env) }],
  exports: [AppConfig],
})
export class ConfigModule {}
