/**
 * Vite build of the dashboard: `npm run build:web` writes web/dist, which the node serves (`dashboardDir()`).
 * `npx vite web` runs a dev server that proxies the API to a running node at $VAIN_API_URL (default
 * http://127.0.0.1:8080); start that node with `allowedOrigins` including the dev server's origin.
 */
import { defineConfig } from "vite";

const apiUrl = process.env["VAIN_API_URL"] ?? "http://127.0.0.1:8080";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // One small app: a single chunk keeps the node's static serving trivial.
    chunkSizeWarningLimit: 400,
  },
  server: {
    fs: { allow: [".."] },
    proxy: { "/api": apiUrl, "/health": apiUrl, "/ready": apiUrl, "/metrics": apiUrl },
  },
});
