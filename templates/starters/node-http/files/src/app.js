// The request handler: routing and JSON responses, kept apart from the listening socket so
// tests can start it on a random port.

/** Sends `body` as JSON with `status`. */
function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Returns the greeting for `name` (trimmed, at most 100 characters). */
export function greeting(name) {
  const clean = String(name ?? '').trim().slice(0, 100);
  return `Hello, ${clean || 'world'}!`;
}

/** Creates the `(req, res)` handler for `http.createServer`. */
export function createApp() {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      return;
    }
    switch (url.pathname) {
      case '/health':
        sendJson(res, 200, { status: 'ok' });
        return;
      case '/hello':
        sendJson(res, 200, { message: greeting(url.searchParams.get('name')) });
        return;
      default:
        sendJson(res, 404, { error: `no route for ${url.pathname}` });
    }
  };
}
