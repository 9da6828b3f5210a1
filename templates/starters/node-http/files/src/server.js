// Starts the HTTP server; stops cleanly on SIGINT/SIGTERM.
import http from 'node:http';

import { createApp } from './app.js';

const port = Number.parseInt(process.env.PORT ?? '3000', 10);
const server = http.createServer(createApp());

server.listen(port, () => {
  console.log(`listening on http://localhost:${server.address().port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
  });
}
