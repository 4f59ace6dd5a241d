import { defineConfig } from "vite";

// Built files go to web/dist, which the shufflecast binary serves (WEB_DIR).
// Everything is bundled: nothing is loaded from a CDN at run time.
export default defineConfig({
  base: "/",
  build: { outDir: "dist", assetsDir: "assets", target: "es2020" },
  server: {
    proxy: {
      "/api": "http://localhost:8081",
      "/hls": "http://localhost:8081",
    },
  },
});
