import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { NatsSecurity } from './nats-connection';

/** What `RelayModule.forRootAsync` needs, usually built from the app config. */
export interface RelayOptions {
  /** NATS server URLs, without credentials. Absent or empty selects the in-memory relay. */
  servers?: string[];
  /** Credentials and TLS for every NATS connection; none by default. */
  security?: NatsSecurity;
  /** This replica's name: the NATS connection name, visible in the server's monitoring. */
  name: string;
  /** Pause before retrying a server after losing it, in ms. Default 1000. */
  reconnectTimeWait?: number;
  /** Client PING interval in ms; after two unanswered PINGs the server counts as gone. Default 10000. */
  pingInterval?: number;
}

/** `RelayModule.forRootAsync({ imports, inject, useFactory })` and the resolved options' token. */
export const {
  ConfigurableModuleClass: RelayModuleDefinition,
  MODULE_OPTIONS_TOKEN: RELAY_OPTIONS,
} = new ConfigurableModuleBuilder<RelayOptions>().setClassMethodName('forRoot').build();
