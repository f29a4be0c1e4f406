/** What an effect logs, one line per call (`LEVEL message`), for tests that check the log. */
import * as Logger from "effect/Logger"

/** The lines logged under `layer`, collected as they come. */
export const capturedLogs = () => {
  const lines: Array<string> = []
  const layer = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) =>
      lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
    )
  )
  return { lines, layer }
}
