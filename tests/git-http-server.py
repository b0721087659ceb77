#!/usr/bin/python3
"""A git smart-HTTP server for the tests, on 127.0.0.1 only: git
http-backend (CGI) behind HTTP Basic authentication.

    git-http-server.py ROOT USER PASSWORD PORTFILE

serves the repositories under ROOT at http://127.0.0.1:PORT/NAME.git,
writes PORT to PORTFILE once it listens, and logs one line per request
to stderr ("GET /r.git/info/refs 401").  Ends on SIGTERM."""
import base64
import http.server
import os
import subprocess
import sys

ROOT, USER, PASSWORD, PORTFILE = sys.argv[1:5]
WANT = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def handle_one(self):
        if self.headers.get("Authorization") != WANT:
            sys.stderr.write(f"{self.command} {self.path} 401\n")
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="virtform-test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = dict(os.environ, GIT_PROJECT_ROOT=ROOT, GIT_HTTP_EXPORT_ALL="1",
                   REQUEST_METHOD=self.command, PATH_INFO=path, QUERY_STRING=query,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(body)), REMOTE_USER=USER,
                   GIT_PROTOCOL=self.headers.get("Git-Protocol", ""))
        out = subprocess.run(["git", "http-backend"], input=body, env=env,
                             capture_output=True, check=False).stdout
        head, _, data = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        sys.stderr.write(f"{self.command} {path} {status}\n")
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = handle_one


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
