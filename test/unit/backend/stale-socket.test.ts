/**
 * Regression: a request written to a pooled keep-alive socket that the backend closes without answering (it timed
 * out the idle connection as the request went out) is sent once more on a fresh connection, not failed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { createBackend } from '../../../src/backend/index.js';

const INFO = JSON.stringify({
  model_id: 'mini',
  model_type: { embedding: { pooling: 'mean' } },
  max_concurrent_requests: 512,
  max_input_length: 256,
  max_batch_tokens: 16384,
  max_client_batch_size: 32,
  auto_truncate: true,
  version: '1.9.3',
});

describe('HTTP backend and stale keep-alive sockets', () => {
  it('answers the first request of each connection and drops the second: the client retries on a new one', async () => {
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      let requests = 0;
      socket.on('data', () => {
        requests++;
        if (requests === 1) {
          socket.write(
            `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(INFO)}\r\nkeep-alive: timeout=60\r\n\r\n${INFO}`,
          );
        } else {
          socket.destroy(); // closed as if the idle timeout had fired when this request arrived
        }
      });
      socket.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const backend = createBackend(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, {
      timeoutMs: 5000,
    });
    try {
      for (let i = 0; i < 3; i++) {
        const info = await backend.info();
        assert.equal(info.modelId, 'mini');
      }
      assert.equal(connections, 3, 'each retry opened a fresh connection');
    } finally {
      await backend.close();
      server.close();
    }
  });
});
