#!/usr/bin/env -S node --max-semi-space-size=64
// `temporal-lite`: the CLI. Client commands run the compiled bundle (build-cli.js: built at
// install or on first use); `serve` and `replay` load TypeScript (the registry) and so run the
// sources through tsx's loader. A request leaves ~100 KB of short-lived Effect structures
// behind: a 64 MiB young generation (Node's default: 16) scavenges a quarter as often.
const command = process.argv[2]
const build = command !== "serve" && command !== "replay" ? await import("./build-cli.js") : undefined
const compiled = await build?.ensureCliBuild()
if (build && compiled) {
  build.loadCli(compiled).main()
} else {
  const { register } = await import("tsx/esm/api")
  register()
  const { main } = await import("./cli.ts")
  main()
}
