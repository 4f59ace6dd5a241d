import { defineConfig } from "vite";

// Built files go to web/dist, which the shufflecast binary serves (WEB_DIR).
// Everything is bundled: nothing is loaded from a CDN at run time. The service
// worker is a second entry, built to /sw.js (its scope must be the whole site).
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    target: "es2020",
    rollupOptions: {
      input: { main: "index.html", sw: "src/sw.ts" },
      output: {
        entryFileNames: (chunk) => (chunk.name === "sw" ? "sw.js" : "assets/[name]-[hash].js"),
      },
    },
  },
  server: {
    proxy: {
      "/api": "http://localhost:8081",
      "/hls": "http://localhost:8081",
    },
  },
});
