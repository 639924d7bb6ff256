// A deadline around one call. The AWS SDK's socket timeouts do not bound a call that keeps retrying
// or a server that trickles bytes (and a mocked client has no sockets at all); a DNS lookup has no
// timeout of its own.

export class CallTimeoutError extends Error {
  override name = "CallTimeoutError";
}

/** Runs `call` with an abort signal; rejects with CallTimeoutError (and aborts) after `timeoutMs`. */
export function callWithDeadline<T>(timeoutMs: number, call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new CallTimeoutError(`no answer within ${timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
    call(controller.signal).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
