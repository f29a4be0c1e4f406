/**
 * Maps positions the JS engine reports (a yield's stack frame, an error's stack) to the
 * original source, by loading the source map of the module that ran.
 *
 * Built files carry `//# sourceMappingURL=<chunk>.js.map`; Vite's dev server inlines the map
 * as a data: URL; a page opened from file:// (which cannot fetch) runs the build's
 * `<chunk>.js.map.js` script instead. A module without a map (or one that cannot be fetched,
 * e.g. a Node path from a server-recorded stack) maps to itself, so callers always get a
 * position.
 */
import { authHeaders } from "./auth"
import {
  parseSourceMap,
  SOURCE_MAPS_GLOBAL,
  type OriginalPosition,
  type RawSourceMap,
  type SourceMap
} from "./source-map"

export interface Located extends OriginalPosition {
  /** True when a source map was applied (false: the position is the engine's own). */
  readonly mapped: boolean
}

export interface SourceLocator {
  locate(position: {
    readonly file: string
    readonly line: number
    readonly column: number
  }): Promise<Located>
  /** The original text of a source, when a loaded map embeds it. */
  embeddedSource(source: string): string | undefined
}

const MAP_COMMENT = /\/\/[#@] sourceMappingURL=([^\s'"]+)\s*$/

export const createSourceLocator = (
  fetchText: (url: string) => Promise<string | undefined>
): SourceLocator => {
  const maps = new Map<string, Promise<SourceMap | undefined>>()
  const loaded: Array<SourceMap> = []

  const loadMap = async (file: string): Promise<SourceMap | undefined> => {
    // Only the page's own bundle (a file:// page's): a Node path a server recorded is no script to run.
    if (file.startsWith("file:"))
      return file.startsWith(new URL("./", location.href).href)
        ? parsed(await loadMapScript(file), file)
        : undefined
    if (!/^https?:/.test(file)) return undefined
    const code = await fetchText(file)
    if (code === undefined) return undefined
    const comment = MAP_COMMENT.exec(code.slice(-4000))?.[1]
    let raw: string | undefined
    let mapUrl: string = file
    if (comment?.startsWith("data:")) {
      const comma = comment.indexOf(",")
      const body = comment.slice(comma + 1)
      raw = comment.slice(0, comma).endsWith(";base64") ? decodeBase64(body) : decodeURIComponent(body)
    } else {
      mapUrl = new URL(comment ?? `${file.replace(/[?#].*$/, "")}.map`, file).href
      raw = await fetchText(mapUrl)
    }
    if (raw === undefined) return undefined
    try {
      return parsed(JSON.parse(raw), mapUrl)
    } catch {
      return undefined
    }
  }

  const parsed = (raw: RawSourceMap | undefined, mapUrl: string): SourceMap | undefined => {
    if (raw === undefined) return undefined
    try {
      const map = parseSourceMap(raw, mapUrl)
      loaded.push(map)
      return map
    } catch {
      return undefined
    }
  }

  return {
    async locate(position) {
      let map = maps.get(position.file)
      if (!map) {
        map = loadMap(position.file).catch(() => undefined)
        maps.set(position.file, map)
      }
      const original = (await map)?.originalPositionFor(position.line, position.column)
      return original
        ? { ...original, mapped: true }
        : { source: position.file, line: position.line, column: position.column, mapped: false }
    },
    embeddedSource(source) {
      for (const map of loaded) {
        const text = map.sourceContent(source)
        if (text !== undefined) return text
      }
      return undefined
    }
  }
}

/**
 * A bundle's map as its `<bundle>.js.map.js` script gives it: a page opened from file:// can
 * run a classic script but not fetch a file (see debugger/vite.config.ts).
 */
const loadMapScript = (file: string): Promise<RawSourceMap | undefined> => {
  const path = file.replace(/[?#].*$/, "")
  const name = path.slice(path.lastIndexOf("/") + 1)
  const maps = () =>
    (globalThis as Record<string, unknown>)[SOURCE_MAPS_GLOBAL] as Record<string, RawSourceMap> | undefined
  const known = maps()?.[name]
  if (known) return Promise.resolve(known)
  return new Promise((resolve) => {
    const script = document.createElement("script")
    script.src = `${path}.map.js`
    script.onload = () => resolve(maps()?.[name])
    script.onerror = () => resolve(undefined)
    document.head.append(script)
  })
}

const decodeBase64 = (s: string): string =>
  new TextDecoder().decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)))

/**
 * The default locator of the page: fetches same-origin modules and maps, caching both (with
 * the page's token: a server with a token guards the debugger's files too).
 */
export const browserSourceLocator = (): SourceLocator =>
  createSourceLocator(async (url) => {
    try {
      const sameOrigin = new URL(url, location.href).origin === location.origin
      const response = await fetch(url, sameOrigin ? { headers: authHeaders() } : {})
      return response.ok ? await response.text() : undefined
    } catch {
      return undefined
    }
  })
