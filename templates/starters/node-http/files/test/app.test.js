import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { createApp, greeting } from '../src/app.js';

describe('greeting', () => {
  it('greets by name', () => assert.equal(greeting('Ada'), 'Hello, Ada!'));
  it('falls back to world', () => assert.equal(greeting('  '), 'Hello, world!'));
  it('caps long names', () => assert.equal(greeting('x'.repeat(500)).length, 'Hello, !'.length + 100));
});

describe('http service', () => {
  let server;
  let base;

  before(async () => {
    server = http.createServer(createApp());
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${server.address().port}`;
  });

  after(() => new Promise((resolve) => server.close(resolve)));

  it('answers /health', async () => {
    const res = await fetch(`${base}/health`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /application\/json/);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('greets on /hello', async () => {
    const res = await fetch(`${base}/hello?name=Ada`);
    assert.deepEqual(await res.json(), { message: 'Hello, Ada!' });
  });

  it('404s unknown routes', async () => {
    const res = await fetch(`${base}/nope`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: 'no route for /nope' });
  });

  it('405s other methods', async () => {
    const res = await fetch(`${base}/health`, { method: 'POST' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  });
});
