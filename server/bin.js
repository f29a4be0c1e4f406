#!/usr/bin/env -S node --max-semi-space-size=64
// `temporal-lite`: the CLI (server/cli.ts) run through tsx's loader, so no build step is needed.
// A request leaves ~100 KB of short-lived Effect structures behind: a 64 MiB young generation
// (Node's default: 16) scavenges a quarter as often; `npm start` runs with the same flag.
import { register } from "tsx/esm/api"

register()
const { main } = await import("./cli.ts")
main()
