// Starts the gateway on SERVER_PORT; everything else is in app.ts.
import { build } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createJobSystem } from './jobs/index.ts';

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
const jobs = createJobSystem({ workers: config.workers, workerToken: config.workerToken });
const app = await build({ config, jobs });
// SIGTERM (a deploy, systemd, docker stop): refuse new work with 503 + Retry-After,
// give running jobs SHUTDOWN_GRACE_SECONDS to finish, leave queued ones in the
// store for the next start, and exit 0.
const shutdown = async (signal: string) => {
  app.log.info({ signal, graceSeconds: config.shutdownGraceSeconds }, 'shutting down');
  await app.jobService.drain(config.shutdownGraceSeconds * 1000);
  await app.close();
  await jobs.close();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
await app.listen({ host: config.host, port: config.port });
