import { defineConfig } from 'vite';

export default defineConfig({
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  // The AudioWorklet (src/live-worklet.ts) loads as a module script.
  worker: { format: 'es' },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/v1': { target: 'http://127.0.0.1:8080', ws: true } } },
});
