// Whether this machine has a route to an address: the test that tells "unreachable" from the network
// apart from "unreachable" because the prober itself cannot send there (docs/readme-probe.md, "Probe errors").
// connect(2) on a UDP socket looks the route up in the kernel and sends nothing, so it is safe against any
// address and costs one descriptor for a moment.
import { createSocket } from "node:dgram";
import { isIP } from "node:net";

/** Codes a UDP connect gives when this machine cannot send to the address at all. */
const NO_LOCAL_ROUTE = new Set(["ENETUNREACH", "EHOSTUNREACH", "EAFNOSUPPORT", "EADDRNOTAVAIL", "EPERM", "EACCES"]);

/**
 * null when this machine has a route to `ip`; otherwise the error code that says why not (the kernel's
 * answer to a UDP connect, or the code of a failure to make the socket at all, such as EMFILE).
 */
export function localRouteError(ip: string, port: number): Promise<string | null> {
  const family = isIP(ip);
  if (family === 0) return Promise.resolve("EINVAL");
  return new Promise((resolve) => {
    let socket: ReturnType<typeof createSocket>;
    try {
      socket = createSocket(family === 6 ? "udp6" : "udp4");
    } catch (error) {
      resolve((error as NodeJS.ErrnoException).code ?? "EUNKNOWN");
      return;
    }
    const done = (code: string | null) => {
      socket.removeAllListeners();
      socket.on("error", () => {});
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(code);
    };
    const failed = (error: NodeJS.ErrnoException) => {
      const code = error.code ?? "EUNKNOWN";
      done(NO_LOCAL_ROUTE.has(code) || code === "EMFILE" || code === "ENFILE" || code === "ENOBUFS" ? code : null);
    };
    socket.once("error", failed);
    // dgram hands a connect error to the callback (not to "error") when there is one.
    socket.connect(port, ip, (error?: Error | null) => (error ? failed(error as NodeJS.ErrnoException) : done(null)));
  });
}
