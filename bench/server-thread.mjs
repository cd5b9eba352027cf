/**
 * The loopback flag server on a thread of its own (worker.mjs's update task), so that
 * sending a large body does not run on the event loop being measured. Posts `{ url }`
 * once listening; `{ body }` replaces the body (answered `{ replaced: true }`); every
 * full 200 answer posts `{ sentAt, bytes }` once its last byte was handed to the socket,
 * `sentAt` in epoch milliseconds (`performance.timeOrigin + performance.now()`, which
 * threads and processes of one machine share).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createFlagServer } from './systems.mjs';

const server = await createFlagServer(workerData.body, {
  onSent: (bytes) => parentPort.postMessage({ sentAt: performance.timeOrigin + performance.now(), bytes }),
});
parentPort.on('message', async (message) => {
  if (message.body !== undefined) {
    server.setBody(message.body);
    parentPort.postMessage({ replaced: true });
  }
  if (message.close) {
    await server.close();
    parentPort.close();
  }
});
parentPort.postMessage({ url: server.url });
