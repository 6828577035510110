/**
 * Baseline for the gateway config pull: plain node:http returning the same bytes with the same
 * ETag, and 304 when If-None-Match matches. No auth, no database: the floor for that route.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [portArg, bodyFile, etag, contentType] = process.argv.slice(2);
const body = readFileSync(bodyFile);

const server = createServer((req, res) => {
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { etag });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': contentType, 'content-length': body.length, etag });
  res.end(body);
});

server.listen(Number(portArg), '127.0.0.1', () => process.send?.({ ready: true }));
