// A TCP proxy that makes a slow link: bytes towards the target (gateway →
// worker) pass at most `bytesPerSecond` on each connection, replies come back
// at full speed. Backpressure is real: the client's socket is paused while its
// bytes wait, so the sender sees a slow reader, not a big buffer. Only node:
// imports here (this folder has no node_modules of its own).
import net from 'node:net';
import { once } from 'node:events';

export interface Throttle {
  address: string; // host:port to give the gateway as its worker
  port: number;
  /** Bytes sent on to the target so far, over every connection. */
  forwarded(): number;
  close(): Promise<void>;
}

export async function startThrottle(target: { host: string; port: number }, bytesPerSecond: number): Promise<Throttle> {
  const sockets = new Set<net.Socket>();
  let forwarded = 0;
  // Half-open allowed: each side's end is passed on only once the bytes before it have gone.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    for (const [s, other] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => other.destroy());
      s.on('close', () => sockets.delete(s));
    }
    upstream.pipe(client); // replies: unthrottled

    // Each chunk leaves when the link would have finished carrying the ones before it.
    let freeAt = performance.now();
    let waiting = 0;
    let ended = false;
    client.on('data', (chunk: Buffer) => {
      client.pause();
      waiting += 1;
      const now = performance.now();
      freeAt = Math.max(freeAt, now) + (chunk.length / bytesPerSecond) * 1000;
      setTimeout(() => {
        waiting -= 1;
        forwarded += chunk.length;
        const resume = () => {
          if (ended && waiting === 0) upstream.end();
          else client.resume();
        };
        if (upstream.write(chunk)) resume();
        else upstream.once('drain', resume);
      }, freeAt - now);
    });
    client.on('end', () => {
      ended = true;
      if (waiting === 0) upstream.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    forwarded: () => forwarded,
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
