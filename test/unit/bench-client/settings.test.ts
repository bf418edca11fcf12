/** bench-client flags: tei-manager's forms, mode-dependent defaults, usage errors that name the flag and the fix. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveSettings, settingsJson } from '../../../src/bench-client/settings.js';
import type { BenchSettings } from '../../../src/bench-client/settings.js';
import { LatencyHistogram } from '../../../src/bench-client/histogram.js';
import { benchClientCommand, benchFlagsFromValues, expandShortM } from '../../../src/cli/bench-client.js';
import { parseFlags } from '../../../src/cli/flags.js';
import { RouterError } from '../../../src/errors.js';

function settings(...argv: string[]): BenchSettings {
  return resolveSettings(benchFlagsFromValues(parseFlags(benchClientCommand, expandShortM(argv)).values));
}

function usageError(argv: string[], message: RegExp): void {
  assert.throws(
    () => settings(...argv),
    (e: unknown) => {
      assert.ok(e instanceof RouterError, `not a RouterError: ${String(e)}`);
      assert.equal(e.code, 'ROUTER_ERR_CLI_BAD_VALUE');
      assert.match(e.message, message);
      return true;
    },
  );
}

describe('bench-client settings', () => {
  it("accepts tei-manager's command lines (-m is the mode there) and its defaults", () => {
    const s = settings('-e', 'https://localhost:9001', '-i', 'my-instance', '-m', 'arrow', '-n', '1000');
    assert.equal(s.mode, 'arrow');
    assert.equal(s.instance, 'my-instance');
    assert.equal(s.model, null);
    assert.equal(s.protocol, 'gRPC');
    assert.equal(s.endpoint.tls, true);
    assert.equal(s.endpoint.authority, 'localhost:9001');
    assert.equal(s.numTexts, 1000);
    assert.equal(s.batchSize, 100);
    assert.equal(s.textsPerRequest, 100);
    assert.equal(s.concurrency, 1, 'arrow is sequential as in tei-manager');
    assert.equal(s.maxMessageSizeMb, 100);
    const std = settings('-e', 'http://127.0.0.1:9001', '-i', 'x', '-b', '32');
    assert.equal(std.mode, 'standard');
    assert.equal(std.endpoint.tls, false);
    assert.equal(std.textsPerRequest, 1);
    assert.equal(std.concurrency, 32, 'standard: batch-size is the concurrency');
    assert.equal(settings('-e', 'grpc://h:1', '-i', 'x', '-b', '32', '-c', '3').concurrency, 3);
    assert.equal(settings('-e', 'grpc://h:1', '-i', 'x', '--mode', 'stream').concurrency, 4);
  });

  it('-m with a value that is not a mode name is --model', () => {
    const s = settings('-e', 'grpcs://h:9001', '-m', 'BAAI/bge-small-en-v1.5', '--mode', 'stream');
    assert.equal(s.model, 'BAAI/bge-small-en-v1.5');
    assert.equal(s.mode, 'stream');
    // the value of another flag is never taken for -m
    assert.equal(settings('-e', 'grpc://h:1', '-i', '-m', '-m', 'arrow').instance, '-m');
  });

  it('HTTP modes: optional model (x-model / "model"), http(s) only, path prefix kept', () => {
    const s = settings('-e', 'http://127.0.0.1:8080/prefix/', '--mode', 'http');
    assert.equal(s.protocol, 'HTTP');
    assert.equal(s.model, null);
    assert.equal(s.endpoint.basePath, '/prefix');
    assert.equal(s.concurrency, 4);
    assert.equal(settings('-e', 'https://[::1]', '-m', 'openai', '-i', 'mini').model, 'mini');
    assert.equal(settings('-e', 'https://[::1]', '-m', 'openai').endpoint.authority, '[::1]:443');
    usageError(
      ['-e', 'grpc://127.0.0.1:9001', '--mode', 'http'],
      /speaks HTTP.*use http:\/\/127\.0\.0\.1:9001/,
    );
    usageError(['-e', 'grpcs://h:9', '--mode', 'openai'], /use https:\/\/h:9/);
  });

  it('names the missing or contradictory flag', () => {
    usageError([], /missing required flag --endpoint \(-e\)/);
    usageError(
      ['-e', 'grpc://h:9001'],
      /missing required flag --instance \(-i\) or --model for --mode standard/,
    );
    usageError(['-e', 'grpc://h:9001', '-i', 'a', '--model', 'b'], /give one/);
    usageError(['-e', 'localhost:9001', '-i', 'a'], /scheme localhost:\/\/ is not one of|not a URL/);
    usageError(['-e', 'ftp://h', '-i', 'a'], /scheme ftp:\/\/ is not one of/);
    usageError(['-e', 'grpc://h:9001/x', '-i', 'a'], /a gRPC endpoint has no path/);
    usageError(['-e', 'https://h:9001', '-i', 'a', '--cert', 'c.pem'], /--cert needs --key/);
    usageError(['-e', 'https://h:9001', '-i', 'a', '--key', 'k.pem'], /--key needs --cert/);
    usageError(
      ['-e', 'http://h:9001', '-i', 'a', '--ca', 'ca.pem'],
      /--ca needs a TLS endpoint: use https:\/\/h:9001/,
    );
    usageError(
      ['-e', 'grpc://h:9001', '-i', 'a', '--insecure'],
      /--insecure needs a TLS endpoint: use grpcs:\/\//,
    );
    usageError(['-e', 'grpc://h:1', '-i', 'a', '--text-tokens', '300'], /--text-tokens-max 256 is below/);
  });

  it('--insecure checks the name localhost; mode-only flags elsewhere are warnings', () => {
    const s = settings(
      '-e',
      'https://127.0.0.1:9001',
      '-i',
      'a',
      '--insecure',
      '--noop',
      '--mode',
      'standard',
    );
    assert.equal(s.serverName, 'localhost');
    assert.match(s.warnings.join('\n'), /--noop applies to --mode arrow only/);
    assert.equal(settingsJson(s).server_name, 'localhost');
    assert.equal(settings('-e', 'https://127.0.0.1:9001', '-i', 'a').serverName, '127.0.0.1');
    assert.equal(
      settingsJson(settings('-e', 'grpc://h:1', '-i', 'a', '-m', 'arrow', '--no-compression')).compression,
      'none',
    );
  });
});

describe('bench-client latency histogram', () => {
  it('percentiles within 0.1%, ordered, max and mean exact; nulls when empty', () => {
    const h = new LatencyHistogram();
    assert.deepEqual(h.summary(), { p50: null, p90: null, p99: null, p999: null, max: null, mean: null });
    for (let i = 1; i <= 10000; i++) h.recordMs(i / 10); // 0.1 .. 1000 ms
    const s = h.summary();
    const near = (got: number | null, want: number) =>
      assert.ok(got !== null && Math.abs(got - want) / want <= 0.001 + 1e-9, `${got} vs ${want}`);
    near(s.p50, 500);
    near(s.p90, 900);
    near(s.p99, 990);
    near(s.p999, 999);
    assert.equal(s.max, 1000);
    assert.equal(s.mean, 500.05);
    assert.ok(
      s.p50! <= s.p90! && s.p90! <= s.p99! && s.p99! <= s.p999! && s.p999! <= s.max!,
      JSON.stringify(s),
    );
    h.destroy();
  });
});
