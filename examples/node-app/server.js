'use strict';
const http = require('http');
const ms = require('ms');

const started = Date.now();
const port = Number(process.env.PORT || 3000);

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end(`Hello from Node ${process.version}, up for ${ms(Date.now() - started, { long: true })}\n`);
});
server.listen(port, () => console.log(`listening on port ${port}`));
// pid 1 has no default SIGTERM action: close and exit on `stop`
process.on('SIGTERM', () => server.close(() => process.exit(0)));
