/**
 * Vite build of the replay debugger (Node-side tooling, not part of the browser app).
 *
 * `npm run build` writes debugger/dist, served under /debugger/ by the server;
 * `npm run dev:debugger` serves the sources with Vite's dev server and proxies /api to a
 * running server (TEMPORAL_LITE_API, default http://127.0.0.1:8233).
 *
 * Chunks are laid out so a stack frame still says which part of the code it is in:
 * core/ lands in assets/core/, the examples in assets/examples/ (the interpreter skips
 * frames under a `/core/` path when it looks for the yield's location).
 */
import { defineConfig } from "vite"

const here = import.meta.dirname
const repo = here.slice(0, here.lastIndexOf("/"))

const chunkOf = (id: string): string | undefined => {
  if (id.includes("/node_modules/monaco-editor/")) return "monaco"
  if (id.includes("/node_modules/effect/") || id.includes("/node_modules/@effect/")) return "effect"
  if (id.startsWith(`${repo}/core/`)) return "core"
  if ((id.startsWith(`${repo}/examples/`) || id.startsWith(`${repo}/agents/`)) && !id.includes("?raw"))
    return "examples"
  return undefined
}

export default defineConfig({
  root: here,
  base: "/debugger/",
  clearScreen: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
    target: "es2022",
    chunkSizeWarningLimit: 5000,
    rollupOptions: {
      output: {
        manualChunks: (id) => chunkOf(id),
        chunkFileNames: (chunk) =>
          chunk.name === "core" || chunk.name === "examples"
            ? `assets/${chunk.name}/index-[hash].js`
            : "assets/[name]-[hash].js"
      }
    }
  },
  worker: { format: "es" },
  server: {
    host: "127.0.0.1",
    port: 5173,
    fs: { allow: [repo] },
    proxy: { "/api": process.env.TEMPORAL_LITE_API ?? "http://127.0.0.1:8233" }
  }
})
