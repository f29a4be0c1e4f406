/**
 * The bearer token of a server started with `TEMPORAL_LITE_TOKEN`, as the page keeps it.
 *
 * A browser cannot add a header to a page load, so the page is opened once as
 * `/debugger/?access_token=<token>` (the server then also sets its own cookie for the static
 * files). The page takes the token out of the URL (so it is neither bookmarked nor shown),
 * keeps it in sessionStorage (this tab only, gone when the tab closes) and sends it as
 * `Authorization: Bearer` on every API call, the SSE stream and the source maps it fetches.
 * When the server answers 401 anyway, the page asks for the token (see token-prompt.ts).
 */

export const TOKEN_KEY = "temporal-lite.token"
/** The query parameter the server takes a token from on a page load (and answers with a cookie). */
export const TOKEN_PARAM = "access_token"

const storage = (): Storage | undefined => {
  try {
    return window.sessionStorage
  } catch {
    return undefined
  }
}

export const getToken = (): string | undefined => storage()?.getItem(TOKEN_KEY) ?? undefined

export const setToken = (token: string | undefined): void => {
  const s = storage()
  if (!s) return
  if (token === undefined || token.trim() === "") s.removeItem(TOKEN_KEY)
  else s.setItem(TOKEN_KEY, token.trim())
}

/** The headers every request of the page carries: the bearer token when one is known. */
export const authHeaders = (): Record<string, string> => {
  const token = getToken()
  return token ? { authorization: `Bearer ${token}` } : {}
}

/**
 * Moves a token given in the page's URL into sessionStorage and removes it from the URL
 * (the rest of the query, e.g. a deep link, stays). Returns true when one was taken.
 */
export const takeTokenFromUrl = (): boolean => {
  const url = new URL(location.href)
  const value = url.searchParams.get(TOKEN_PARAM)
  if (value === null) return false
  url.searchParams.delete(TOKEN_PARAM)
  history.replaceState(null, "", url)
  if (value.trim() === "") return false
  setToken(value)
  return true
}
