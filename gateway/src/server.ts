// Starts the gateway on SERVER_PORT; everything else is in app.ts.
import { build } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createDispatch } from './dispatch/index.ts';

let config;
try {
  config = loadConfig();
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`gateway: ${e.message}`);
    process.exit(2);
  }
  throw e;
}
const dispatch = createDispatch({ workers: config.workers, workerToken: config.workerToken, workerLostMs: config.workerLostSeconds * 1000 });
const app = await build({ config, dispatch });
// SIGTERM (a deploy, systemd, docker stop): refuse new work with 503 + Retry-After,
// give running jobs SHUTDOWN_GRACE_SECONDS to finish, leave queued ones in the
// store for the next start, and exit 0.
const shutdown = async (signal: string) => {
  app.log.info({ signal, graceSeconds: config.shutdownGraceSeconds }, 'shutting down');
  await app.jobService.drain(config.shutdownGraceSeconds * 1000);
  await app.close();
  await dispatch.close();
  process.exit(0);
};
const stop = (signal: string) =>
  shutdown(signal).catch((err: unknown) => {
    app.log.error({ err }, 'the shutdown failed; exiting without it');
    process.exit(1);
  });
process.once('SIGINT', () => void stop('SIGINT'));
process.once('SIGTERM', () => void stop('SIGTERM'));
// The last line, not the handling: every background promise has an owner (owned.ts). One that has none is a bug
// to be told loudly, not a reason to drop every other request, job and live session of this process.
process.on('unhandledRejection', (err) => app.log.fatal({ err }, 'BUG: a background promise without an owner failed'));
await app.listen({ host: config.host, port: config.port });
