// A tiny web app for Pilot: Node.js standard library only.
// GET /       -> greeting with the app version (from package.json)
// GET /health -> 200 "ok"
"use strict";

const http = require("http");
const { version } = require("./package.json");

const port = Number(process.env.PORT);
const greeting = process.env.GREETING || "hello";

const server = http.createServer((req, res) => {
  const body = req.url === "/health" ? "ok\n" : `${greeting} from node-hello ${version}\n`;
  res.writeHead(200, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    "X-App-Version": version,
  });
  res.end(body);
});

server.listen(port, "127.0.0.1", () => {
  console.log(`node-hello ${version} listening on 127.0.0.1:${port}`);
});

process.on("SIGTERM", () => {
  server.close(() => {
    console.log("node-hello stopped");
    process.exit(0);
  });
  server.closeIdleConnections();
});
