/**
 * A TCP proxy in front of a server, for losing a connection at a chosen moment the way a
 * network partition loses it: when armed, the next connection that sends a message containing
 * `marker` is cut on the client's side only, either before the server sees the message or
 * once the server has answered it (the answer never reaches the client). The server's side
 * stays open, as the server would keep a session whose client it cannot hear, until the proxy
 * closes. Every other byte passes through unchanged.
 */
import * as net from "node:net"

export type Cut = "before" | "afterAnswer"

export interface TcpProxy {
  readonly port: number
  /** Cuts the next connection that sends `marker`; resolves once it is cut. */
  readonly arm: (marker: string, cut: Cut) => Promise<void>
  /** Closes every connection, the servers' sides included, and stops listening. */
  readonly close: () => Promise<void>
}

export const startTcpProxy = (target: { readonly host: string; readonly port: number }) =>
  new Promise<TcpProxy>((resolve, reject) => {
    let armed: { marker: Buffer; cut: Cut; done: () => void } | undefined
    const sockets = new Set<net.Socket>()
    const server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host)
      sockets.add(client).add(upstream)
      /** Once cut, the server's side outlives the client's. */
      let cut = false
      const cutClient = (trap: { done: () => void }) => {
        cut = true
        client.destroy()
        trap.done()
      }
      client.on("data", (data) => {
        const trap = armed
        if (trap && data.includes(trap.marker)) {
          armed = undefined
          if (trap.cut === "before") return cutClient(trap)
          upstream.once("data", () => cutClient(trap))
        }
        upstream.write(data)
      })
      upstream.on("data", (data) => {
        if (!cut) client.write(data)
      })
      client.on("error", () => client.destroy())
      upstream.on("error", () => upstream.destroy())
      client.on("close", () => {
        sockets.delete(client)
        if (!cut) upstream.destroy()
      })
      upstream.on("close", () => {
        sockets.delete(upstream)
        client.destroy()
      })
    })
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        arm: (marker, cut) =>
          new Promise<void>((done) => {
            armed = { marker: Buffer.from(marker), cut, done }
          }),
        close: () =>
          new Promise<void>((closed) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => closed())
          })
      })
    })
  })
