import 'reflect-metadata';
import { AppModule } from './app.module';
import { bootstrap, exitOnStartupError } from './bootstrap';

bootstrap(AppModule).catch(exitOnStartupError);
