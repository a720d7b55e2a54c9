/// <reference types="vitest/config" />
// Vite: the console (index.html) and the standalone GraphiQL page (graphiql.html) in one build;
// the dev server proxies the API to a running amp-pool (AMP_POOL_BACKEND, default :8000).
import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const backend = process.env.AMP_POOL_BACKEND ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  build: {
    // Keep inline data: URIs out of scripts; assets are files under /assets (CSP `'self'`).
    assetsInlineLimit: 0,
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, 'index.html'),
        graphiql: resolve(import.meta.dirname, 'graphiql.html'),
      },
    },
  },
  server: {
    proxy: {
      '/graphql': { target: backend, ws: true, changeOrigin: true },
      '/v1': { target: backend, changeOrigin: true },
      '/health': { target: backend, changeOrigin: true },
      '/metrics': { target: backend, changeOrigin: true },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    globals: true,
    setupFiles: ['src/test/setup.ts'],
    css: false,
    // antd renders slowly in jsdom on a busy 2-core machine; these are upper bounds, not timings.
    testTimeout: 30_000,
  },
});
