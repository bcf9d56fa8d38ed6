export * from './channels.module';
export * from './channels.service';
export * from './frame-codec';
export * from './names';
export * from './resume-request.dto';
export * from './idempotency';
export * from './channels-options';
