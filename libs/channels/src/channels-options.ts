import { ConfigurableModuleBuilder } from '@nestjs/common';

/** Limits of `ChannelsService`, usually from `AppConfig`. */
export interface ChannelsOptions {
  /** History appends in flight at once on this replica; past it a publish gets `overloaded`. */
  readonly publishMaxInflight: number;
}

export const DEFAULT_PUBLISH_MAX_INFLIGHT = 1000;

/** `ChannelsModule.forRootAsync({ inject, useFactory })` and the resolved options' token. */
export const {
  ConfigurableModuleClass: ChannelsModuleDefinition,
  MODULE_OPTIONS_TOKEN: CHANNELS_OPTIONS,
} = new ConfigurableModuleBuilder<ChannelsOptions>().setClassMethodName('forRoot').build();
