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
const jobs = createJobSystem({ workers: config.workers });
const app = await build({ config, jobs });
const close = async () => {
  await app.close();
  await jobs.close();
  process.exit(0);
};
process.once('SIGINT', close);
process.once('SIGTERM', close);
await app.listen({ host: config.host, port: config.port });
