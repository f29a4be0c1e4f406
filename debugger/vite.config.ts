/**
 * Vite build of the replay debugger (Node-side tooling, not part of the browser app).
 *
 * `npm run build` writes debugger/dist, served under /debugger/ by the server;
 * `npm run dev:debugger` serves the sources with Vite's dev server and proxies /api to a
 * running server (TEMPORAL_LITE_API, default http://127.0.0.1:8233).
 *
 * The build works from any static server under any path and from a file:// open, so:
 * - asset paths are relative (`base: "./"`);
 * - the page is one classic script (IIFE) and one stylesheet: a browser refuses module
 *   scripts from file:// (they need CORS, which file:// has not), and classic ones are fine;
 * - Monaco's editor worker is inlined and started from a blob: URL, which file:// allows;
 * - the source map, which the page reads to map yields and stack frames to source lines, is
 *   also written as a classic script (`<bundle>.js.map.js`), for a page that cannot fetch it
 *   (file://); see debugger/src/source-locator.ts.
 * The map covers the project's own code only (examples/, core/, debugger/, agents/, api/):
 * that is all the page maps, and the libraries' mappings would make it ten times larger.
 */
import { defineConfig, type Plugin } from "vite"
import { SOURCE_MAPS_GLOBAL } from "./src/source-map"

const here = import.meta.dirname

/** Modules whose code the source map leaves out (see the module doc). */
const unmapped = (id: string) => id.includes("/node_modules/")

/** Drops the mappings of library modules: their code carries none into the bundle's map. */
const mapOwnCodeOnly = (): Plugin => ({
  name: "temporal-lite:map-own-code-only",
  enforce: "post",
  transform(code, id) {
    return unmapped(id) ? { code, map: { mappings: "" } } : undefined
  }
})

/** Writes each bundle's map as a classic script too, and makes index.html load classic scripts. */
const offlinePage = (): Plugin => ({
  name: "temporal-lite:offline-page",
  apply: "build",
  generateBundle(_options, bundle) {
    for (const file of Object.values(bundle)) {
      if (file.type !== "asset" || !file.fileName.endsWith(".js.map")) continue
      const name = file.fileName.slice(file.fileName.lastIndexOf("/") + 1, -".map".length)
      // The editor worker is inlined into the page's bundle: no file of its own to map.
      if (!(`assets/${name}` in bundle)) {
        delete bundle[file.fileName]
        continue
      }
      const json = typeof file.source === "string" ? file.source : new TextDecoder().decode(file.source)
      this.emitFile({
        type: "asset",
        fileName: `${file.fileName}.js`,
        source: `(self.${SOURCE_MAPS_GLOBAL} ||= {})[${JSON.stringify(name)}] = ${json};\n`
      })
    }
  },
  transformIndexHtml: {
    order: "post",
    handler: (html) =>
      html
        .replace(/<script type="module" crossorigin (src="[^"]+")><\/script>/g, "<script defer $1></script>")
        .replace(/<link rel="stylesheet" crossorigin /g, '<link rel="stylesheet" ')
  }
})

export default defineConfig({
  root: here,
  base: "./",
  clearScreen: false,
  plugins: [mapOwnCodeOnly(), offlinePage()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
    target: "es2022",
    modulePreload: false,
    chunkSizeWarningLimit: 8000,
    rollupOptions: {
      // Library code has no mappings (mapOwnCodeOnly): Rollup says so for each of its
      // annotations it cannot place, which is expected, not worth a line each.
      onwarn: (warning, warn) => {
        if (warning.code === "SOURCEMAP_ERROR" && warning.id !== undefined && unmapped(warning.id)) return
        warn(warning)
      },
      output: {
        format: "iife",
        inlineDynamicImports: true,
        entryFileNames: "assets/[name]-[hash].js"
      }
    }
  },
  worker: { format: "iife" },
  server: {
    host: "127.0.0.1",
    port: 5173,
    fs: { allow: [here.slice(0, here.lastIndexOf("/"))] },
    proxy: { "/api": process.env.TEMPORAL_LITE_API ?? "http://127.0.0.1:8233" }
  }
})
