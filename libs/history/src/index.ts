export * from './history-options';
export * from './history-store';
export * from './history.module';
export * from './in-memory.history';
export * from './jetstream.history';
export * from './older-page';
export * from './subjects';
