import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The shipped generator, so tests prove the procedure docs/deploy.md gives operators. */
const MAKE_CERTS = join(__dirname, '..', '..', '..', 'deploy', 'nats', 'make-certs.sh');

/** A private CA and a certificate for 127.0.0.1/localhost, usable by a server and a client. */
export interface TestCertificates {
  readonly dir: string;
  /** Paths of the PEM files. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA's PEM text. */
  readonly ca: string;
  remove(): Promise<void>;
}

/** Makes fresh certificates with `deploy/nats/make-certs.sh` (openssl) in a temporary directory. */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'nats-certs-'));
  try {
    await promisify(execFile)(MAKE_CERTS, [dir]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const caFile = join(dir, 'ca.pem');
  return {
    dir,
    caFile,
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server-key.pem'),
    ca: await readFile(caFile, 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
