/**
 * HealthMonitor against a scripted backend (no sockets: the states, thresholds and slow start are the logic under
 * test; test/e2e/fleet-health.test.ts covers the same over real sockets against the sim).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EJECT_AFTER, HealthMonitor } from '../../../src/backend/health.js';
import type { BackendState, HealthOptions, Monitored } from '../../../src/backend/health.js';
import type { BackendInfo, TeiBackend } from '../../../src/backend/types.js';
import { until } from '../../helpers/wait.js';

const INFO: BackendInfo = {
  modelId: 'm',
  modelType: 'embedding',
  pooling: 'mean',
  maxConcurrentRequests: 512,
  maxInputLength: 512,
  maxBatchTokens: 16384,
  maxBatchRequests: undefined,
  maxClientBatchSize: 32,
  version: '1.9.0',
  autoTruncate: true,
};

/** A backend whose /info and /health answer as `up` says, counting the calls. */
function scripted() {
  const s = { up: true, infos: 0, healths: 0 };
  const client = {
    protocol: 'http',
    info: () => {
      s.infos++;
      return s.up ? Promise.resolve(INFO) : Promise.reject(new Error('connect ECONNREFUSED'));
    },
    health: () => {
      s.healths++;
      return Promise.resolve(s.up);
    },
    close: () => Promise.resolve(),
  } as unknown as TeiBackend;
  return { s, client };
}

function monitor(options: Partial<HealthOptions> = {}, slowStartFirst = false) {
  const { s, client } = scripted();
  const replica: Monitored = {
    url: 'http://scripted',
    client,
    info: undefined,
    state: 'starting',
    lastError: undefined,
  };
  const changes: string[] = [];
  const m = new HealthMonitor(
    replica,
    {
      intervalMs: 20,
      timeoutMs: 100,
      unhealthyThreshold: 2,
      healthyThreshold: 1,
      slowStartMs: 0,
      infoRefreshMs: 60_000,
      ...options,
    },
    (from: BackendState, reason: string) => changes.push(`${from}->${replica.state}: ${reason}`),
    slowStartFirst,
  );
  return { s, replica, changes, m };
}

describe('HealthMonitor', () => {
  it('up on the first /info, then /health every interval; down after unhealthy_threshold failures in a row', async () => {
    const { s, replica, changes, m } = monitor();
    try {
      await m.start();
      assert.equal(replica.state, 'up');
      assert.deepEqual(replica.info, INFO);
      assert.ok(await until(() => s.healths >= 3, 2000), `active checks run: ${s.healths}`);
      s.up = false;
      assert.ok(await until(() => replica.state === 'down', 2000), 'down after failed checks');
      assert.match(changes.at(-1)!, /^up->down: 2 checks in a row failed \(health check failed\)$/);
      s.up = true;
      // the probe after the 1 s backoff brings it back
      assert.ok(await until(() => replica.state === 'up', 3000), 'up again once /info answers');
      assert.equal(changes.length, 3, changes.join('; '));
    } finally {
      m.stop();
    }
  });

  it('one failed check below the threshold changes nothing', async () => {
    const { s, replica, m } = monitor({ unhealthyThreshold: 1000 });
    try {
      await m.start();
      s.up = false;
      await until(() => s.healths >= 5, 2000);
      assert.equal(replica.state, 'up');
      assert.equal(replica.lastError, 'health check failed');
    } finally {
      m.stop();
    }
  });

  it('a starting replica stays starting while it refuses, and is not counted down', async () => {
    const { s, replica, changes, m } = monitor();
    try {
      s.up = false;
      await m.start();
      assert.equal(replica.state, 'starting');
      assert.match(replica.lastError ?? '', /ECONNREFUSED/);
      assert.deepEqual(changes, []);
    } finally {
      m.stop();
    }
  });

  it('healthy_threshold: probes in a row before up', async () => {
    const { s, replica, m } = monitor({ healthyThreshold: 2 });
    try {
      await m.start();
      assert.equal(replica.state, 'starting', 'one success is not enough');
      assert.ok(await until(() => replica.state === 'up', 3000), 'up after the second probe (1 s later)');
      assert.equal(s.infos, 2);
    } finally {
      m.stop();
    }
  });

  it(`passive ejection after ${EJECT_AFTER} transport failures in a row; TEI's own errors do not count`, async () => {
    const { replica, changes, m } = monitor({ intervalMs: 60_000 });
    try {
      await m.start();
      for (let i = 0; i < 10; i++) m.recordCall('Validation');
      m.recordCall('ROUTER_ERR_BACKEND_TIMEOUT');
      m.recordCall(undefined); // an answer resets the count
      for (let i = 0; i < EJECT_AFTER - 1; i++) m.recordCall('ROUTER_ERR_BACKEND_UNAVAILABLE');
      assert.equal(replica.state, 'up');
      m.recordCall('ROUTER_ERR_BACKEND_UNAVAILABLE');
      assert.equal(replica.state, 'ejected');
      assert.match(
        changes.at(-1)!,
        /up->ejected: 3 calls in a row failed \(ROUTER_ERR_BACKEND_UNAVAILABLE\)/,
      );
    } finally {
      m.stop();
    }
  });

  it('slow start: the weight ramps from 0.1 to 1 after a comeback, not on the first start', async () => {
    const { replica, m } = monitor({ slowStartMs: 1000, intervalMs: 60_000 });
    try {
      await m.start();
      assert.equal(m.weightFactor(), 1, 'replicas present at startup start at full weight');
      for (let i = 0; i < EJECT_AFTER; i++) m.recordCall('ROUTER_ERR_BACKEND_TIMEOUT');
      assert.equal(replica.state, 'ejected');
      assert.ok(await until(() => replica.state === 'up', 3000), 'back up after the probe');
      const now = Date.now();
      assert.ok(m.weightFactor(now) < 0.2, `starts near the floor: ${m.weightFactor(now)}`);
      assert.ok(Math.abs(m.weightFactor(now + 500) - 0.5) < 0.05, 'half way at half the time');
      assert.equal(m.weightFactor(now + 1000), 1);
    } finally {
      m.stop();
    }
    const added = monitor({ slowStartMs: 1000 }, true);
    try {
      await added.m.start();
      assert.ok(added.m.weightFactor() < 0.2, 'a replica added at runtime starts slow too');
    } finally {
      added.m.stop();
    }
  });
});
