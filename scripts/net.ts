// A loopback port that was free a moment ago, for servers whose PUBLIC_URL must name their port
// before they start (a real client follows the URLs the server prints).
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  if (address === null || typeof address !== 'object') throw new Error('no port');
  return address.port;
}
