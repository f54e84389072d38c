"""A tiny web app for Pilot: standard library only.

GET /        -> greeting with the app version
GET /health  -> 200 "ok" (503 once UNHEALTHY_AFTER seconds have passed, if set)

The version comes from the VERSION file next to this script.
"""

import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "VERSION"), encoding="utf-8") as f:
    VERSION = f.read().strip()
GREETING = os.environ.get("GREETING", "hello")
STARTED = time.monotonic()
UNHEALTHY_AFTER = float(os.environ.get("UNHEALTHY_AFTER", "0") or 0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/health":
            healthy = not UNHEALTHY_AFTER or time.monotonic() - STARTED < UNHEALTHY_AFTER
            self.reply(200 if healthy else 503, "ok\n" if healthy else "unhealthy\n")
        else:
            self.reply(200, f"{GREETING} from python-hello {VERSION}\n")

    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-App-Version", VERSION)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass


def main():
    port = int(os.environ["PORT"])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"python-hello {VERSION} listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever(poll_interval=0.05)
    print("python-hello stopped", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
