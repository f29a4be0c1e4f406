/**
 * A TCP proxy in front of a server, for cutting a connection at a chosen moment: when armed,
 * the next connection that sends a message containing `marker` has it cut, either before the
 * server sees the message or once the server has answered it (its answer never reaches the
 * client). Every other byte passes through unchanged.
 */
import * as net from "node:net"

export type Cut = "before" | "afterAnswer"

export interface TcpProxy {
  readonly port: number
  /** Cuts the next connection that sends `marker`; resolves once it is cut. */
  readonly arm: (marker: string, cut: Cut) => Promise<void>
  readonly close: () => Promise<void>
}

export const startTcpProxy = (target: { readonly host: string; readonly port: number }) =>
  new Promise<TcpProxy>((resolve, reject) => {
    let armed: { marker: Buffer; cut: Cut; done: () => void } | undefined
    const sockets = new Set<net.Socket>()
    const server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host)
      sockets.add(client).add(upstream)
      const cutBoth = () => {
        client.destroy()
        upstream.destroy()
      }
      let cutting = false
      client.on("data", (data) => {
        const trap = armed
        if (trap && data.includes(trap.marker)) {
          armed = undefined
          cutting = true
          if (trap.cut === "before") {
            cutBoth()
            return trap.done()
          }
          // The server gets the message; the client never gets its answer.
          upstream.once("data", () => {
            cutBoth()
            trap.done()
          })
        }
        upstream.write(data)
      })
      upstream.on("data", (data) => {
        if (!cutting) client.write(data)
      })
      for (const socket of [client, upstream]) {
        socket.on("error", cutBoth)
        socket.on("close", () => {
          sockets.delete(socket)
          cutBoth()
        })
      }
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
