export * from './auth.module';
export * from './scopes';
export * from './scopes.guard';
export * from './token-extractor';
export * from './token-gate';
export * from './token-refused';
export * from './token.service';
export * from './ws-authenticator';
