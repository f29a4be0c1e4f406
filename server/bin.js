#!/usr/bin/env node
// `temporal-lite`: the CLI (server/cli.ts) run through tsx's loader, so no build step is needed.
import { register } from "tsx/esm/api"

register()
const { main } = await import("./cli.ts")
main()
