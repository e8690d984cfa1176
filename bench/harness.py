#!/usr/bin/env python3
"""`make bench`: a Lambda Runtime API harness, a counting DynamoDB proxy and the benchmark.

Started by scripts/bench.sh (which builds the binaries, starts DynamoDB Local and seeds the
table). Standard library only (the Python baseline itself runs in its own venv with boto3).

For every function (functions/*), the hello-world floor (bench/hello) and the Python + boto3
login-code peer (bench/python_login_code.py) it:

  * spawns the process as Lambda would (AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port> and the
    standard Lambda environment) and serves the Runtime API it polls:
      GET  /2018-06-01/runtime/invocation/next            (Lambda-Runtime-* headers)
      POST /2018-06-01/runtime/invocation/{id}/response
      POST /2018-06-01/runtime/invocation/{id}/error
      POST /2018-06-01/runtime/init/error
  * init_ms: spawn -> its first `next` request (Lambda's Init Duration);
  * first_invoke_ms: the cold invocation (event handed over -> response posted);
    both the median of --cold-runs cold starts;
  * warm_p50_ms / warm_p99_ms over --warm invocations of one process after its cold one;
  * cpu_us_per_invoke: utime+stime of the process (/proc/<pid>/stat) over the warm phase,
    between two idle points (the process is parked in `next`), / invocations;
  * dynamodb_calls: DynamoDB requests per warm invocation, counted by a proxy in front of
    DynamoDB Local that every function uses as AWS_ENDPOINT_URL (median; op mix recorded);
  * peak_rss_mb: VmHWM (/proc/<pid>/status) at the end of the warm run;
  * zip_bytes: the arm64 bootstrap from `make build` (target/lambda/<fn>/bootstrap), zipped.

Every invocation's event comes from events/<function>.json, adjusted so it does real work: a
distinct source IP, identity, code, cookie or path per invocation where the function needs one
(see Scenario below). Responses are checked (status 200 expected): a run that does not do the
real work is reported, not silently measured.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "host"}
ACCOUNT = "123456789012"


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def now_ms() -> float:
    return time.perf_counter() * 1000.0


# ------------------------------------------------------------------------------------------
# Counting proxy: DynamoDB requests are POSTs with X-Amz-Target: DynamoDB_20120810.<Op>.

class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else Nagle + delayed ACK add ~40 ms per small response

    def log_message(self, *args):  # quiet
        pass

    def _upstream(self) -> http.client.HTTPConnection:
        local = self.server.local
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.server.upstream_host, self.server.upstream_port, timeout=30)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            local.conn = conn
        return conn

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        op = (self.headers.get("X-Amz-Target") or "?").rsplit(".", 1)[-1]
        self.server.record(op)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = f"{self.server.upstream_host}:{self.server.upstream_port}"
        for attempt in range(2):
            conn = self._upstream()
            try:
                conn.request("POST", self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self.server.local.conn = None
                if attempt:
                    raise
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST


class CountingProxy(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

    def __init__(self, upstream: str):
        host_port = upstream.split("://", 1)[-1].rstrip("/")
        self.upstream_host, port = host_port.rsplit(":", 1)
        self.upstream_port = int(port)
        self.local = threading.local()
        self.lock = threading.Lock()
        self.ops: list[str] = []
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, op: str) -> None:
        with self.lock:
            self.ops.append(op)

    def mark(self) -> int:
        with self.lock:
            return len(self.ops)

    def since(self, mark: int) -> list[str]:
        with self.lock:
            return self.ops[mark:]


# ------------------------------------------------------------------------------------------
# The Runtime API, one server per spawned process.

class RuntimeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _reply(self, status: int, body: bytes = b'{"status":"OK"}', headers: dict | None = None):
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the process is gone (killed at the end of a run)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        srv: RuntimeServer = self.server
        if self.path != "/2018-06-01/runtime/invocation/next":
            return self._reply(404, b'{"errorMessage":"not found"}')
        srv.next_arrived()
        item = srv.events.get()
        if item is None:  # shutting down: leave the poller hanging up
            self.close_connection = True
            return self._reply(410, b'{"errorMessage":"shutting down"}')
        inv = item
        headers = {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + srv.timeout_ms),
            "Lambda-Runtime-Invoked-Function-Arn": f"arn:aws:lambda:{srv.region}:{ACCOUNT}:function:{srv.function}",
            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0",
        }
        body = inv.payload
        inv.dispatched_ms = now_ms()
        self._reply(200, body, headers)

    def do_POST(self):
        srv: RuntimeServer = self.server
        parts = self.path.strip("/").split("/")
        body = self._body()
        at = now_ms()
        # /2018-06-01/runtime/invocation/{id}/response|error, /2018-06-01/runtime/init/error
        if len(parts) == 5 and parts[:3] == ["2018-06-01", "runtime", "invocation"] and parts[4] in ("response", "error"):
            inv = srv.inflight.get(parts[3])
            if inv is None:
                return self._reply(400, b'{"errorMessage":"unknown request id"}')
            inv.finish(at, body, error=parts[4] == "error")
            return self._reply(202)
        if parts == ["2018-06-01", "runtime", "init", "error"]:
            srv.init_error = body.decode(errors="replace")
            srv.first_next.set()
            return self._reply(202)
        return self._reply(404, b'{"errorMessage":"not found"}')


class Invocation:
    def __init__(self, event: dict):
        self.request_id = str(uuid.uuid4())
        self.payload = json.dumps(event).encode()
        self.dispatched_ms = 0.0
        self.done = threading.Event()
        self.latency_ms = 0.0
        self.error = False
        self.raw = b""

    def finish(self, at: float, body: bytes, error: bool):
        self.latency_ms = at - self.dispatched_ms
        self.raw = body
        self.error = error
        self.done.set()

    def response(self) -> dict:
        try:
            r = json.loads(self.raw)
        except ValueError:
            return {"statusCode": None, "body": self.raw.decode(errors="replace")}
        if self.error or not isinstance(r, dict):
            return {"statusCode": None, "body": r}
        return r

    def status(self):
        return self.response().get("statusCode")

    def json_body(self) -> dict:
        b = self.response().get("body")
        try:
            return json.loads(b) if isinstance(b, str) else (b or {})
        except ValueError:
            return {}

    def cookies(self) -> list[str]:
        r = self.response()
        out = list(r.get("cookies") or [])
        for k, v in (r.get("headers") or {}).items():
            if k.lower() == "set-cookie":
                out.append(v)
        for k, vs in (r.get("multiValueHeaders") or {}).items():
            if k.lower() == "set-cookie":
                out.extend(vs)
        return out

    def session_token(self) -> str | None:
        for c in self.cookies():
            name, _, rest = c.partition("=")
            if name.strip() == "psession":
                value = rest.split(";", 1)[0].strip()
                if value:
                    return value
        return None


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class RuntimeServer(QuietServer):

    def __init__(self, function: str, region: str, timeout_ms: int = 10_000):
        self.function = function
        self.region = region
        self.timeout_ms = timeout_ms
        self.events: queue.Queue = queue.Queue()
        self.inflight: dict[str, Invocation] = {}
        self.first_next = threading.Event()
        self.first_next_ms: float | None = None
        self.init_error: str | None = None
        self.cond = threading.Condition()
        self.next_count = 0
        super().__init__(("127.0.0.1", 0), RuntimeHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def next_arrived(self):
        with self.cond:
            if self.first_next_ms is None:
                self.first_next_ms = now_ms()
                self.first_next.set()
            self.next_count += 1
            self.cond.notify_all()

    def wait_next_count(self, n: int, timeout: float = 10.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.next_count >= n, timeout)

    def close(self):
        for _ in range(4):
            self.events.put(None)
        self.shutdown()
        self.server_close()


# ------------------------------------------------------------------------------------------
# A spawned function process.

def proc_cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # after "(comm)": state is fields[0]; utime is field 14 overall -> index 11, stime -> 12
    return int(fields[11]) + int(fields[12])


def proc_status_kb(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Function:
    """One Lambda execution environment: a process and the Runtime API it polls."""

    def __init__(self, name: str, argv: list[str], env: dict, log_path: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.server: RuntimeServer | None = None
        self.proc: subprocess.Popen | None = None
        self.invocations = 0

    def start(self, timeout: float = 30.0) -> float:
        """Spawns the process; returns init_ms (spawn -> first `next`)."""
        self.server = RuntimeServer(self.name, self.env.get("AWS_REGION", "us-east-1"))
        env = dict(self.env)
        env["AWS_LAMBDA_RUNTIME_API"] = self.server.address
        logf = open(self.log_path, "ab")
        t0 = now_ms()
        self.proc = subprocess.Popen(self.argv, env=env, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=str(ROOT))
        logf.close()
        deadline = time.monotonic() + timeout
        while not self.server.first_next.wait(0.05):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: exited with {self.proc.returncode} during init (log: {self.log_path})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: no `next` request within {timeout}s")
        if self.server.init_error:
            raise RuntimeError(f"{self.name}: init error: {self.server.init_error}")
        return self.server.first_next_ms - t0

    def invoke(self, event: dict, timeout: float = 15.0) -> Invocation:
        inv = Invocation(event)
        self.server.inflight[inv.request_id] = inv
        self.server.events.put(inv)
        if not inv.done.wait(timeout):
            raise RuntimeError(f"{self.name}: invocation timed out after {timeout}s (log: {self.log_path})")
        del self.server.inflight[inv.request_id]
        self.invocations += 1
        return inv

    def idle(self) -> None:
        """Waits until the process has asked for its next event (it is parked, not working)."""
        if not self.server.wait_next_count(self.invocations + 1):
            raise RuntimeError(f"{self.name}: did not come back for the next event")

    def cpu_ticks(self) -> int:
        return proc_cpu_ticks(self.proc.pid)

    def peak_rss_kb(self) -> int | None:
        return proc_status_kb(self.proc.pid, "VmHWM")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # what Lambda does to an environment it retires
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self.server:
            self.server.close()
        self.proc = None
        self.server = None


# ------------------------------------------------------------------------------------------
# Events

def load_event(name: str) -> dict:
    with open(ROOT / "events" / f"{name}.json") as f:
        return json.load(f)


def make_event(template: dict, *, ip: str | None = None, body: dict | None = None,
               cookie: str | None = None, path: tuple[str, dict] | None = None) -> dict:
    e = copy.deepcopy(template)
    rc = e.setdefault("requestContext", {})
    rc["requestId"] = uuid.uuid4().hex[:14] + "="
    rc["timeEpoch"] = int(time.time() * 1000)
    rc["time"] = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
    headers = e.setdefault("headers", {})
    if ip is not None:
        rc.setdefault("http", {})["sourceIp"] = ip
        headers["x-forwarded-for"] = ip
    if body is not None:
        e["body"] = json.dumps(body, separators=(",", ":"))
        headers["content-length"] = str(len(e["body"].encode()))
    if cookie is not None:
        e["cookies"] = [f"psession={cookie}"]
    if path is not None:
        raw, params = path
        e["rawPath"] = raw
        rc.setdefault("http", {})["path"] = raw
        e["pathParameters"] = params
    return e


def ip_for(space: int, i: int) -> str:
    return f"10.{space}.{(i // 250) % 250}.{i % 250 + 1}"


# ------------------------------------------------------------------------------------------
# Scenario: data set-up and per-invocation events.

class Scenario:
    """Prepares users, sessions and pending codes by driving the real functions, then hands
    out one event per invocation for each measured function."""

    def __init__(self, args, env_for, bin_for):
        self.args = args
        self.env_for = env_for
        self.bin_for = bin_for
        self.n = args.cold_runs + args.warm + 5  # invocations any one function needs
        self.tpl = {p.stem: load_event(p.stem) for p in (ROOT / "events").glob("*.json")}
        self.users: list[dict] = []  # per identity: ip, id, username, s1 (token), c2 (code)
        self.verify_tokens: dict[int, str] = {}

    @staticmethod
    def identity(i: int) -> dict:
        return {"platform": "discord", "platform_user_id": str(200_000_000_000_000_000 + i)}

    def bot_body(self, i: int) -> dict:
        return {**self.identity(i), "platform_username": f"bench_user_{i}",
                "platform_avatar_url": f"https://cdn.discordapp.com/avatars/{200_000_000_000_000_000 + i}/a1b2c3d4e5f6.png"}

    def prepare(self, logdir: Path):
        """Per identity i (its own IP): request -> login-code -> verify (creates the account,
        session S1) -> request -> login-code (code C2, left pending for the verify benchmark)."""
        fns = {}
        try:
            for f in ("auth-request", "bot-login-code", "auth-verify"):
                fns[f] = Function(f"prep-{f}", self.bin_for(f), self.env_for(f), logdir / f"prep-{f}.log")
                fns[f].start()
            req, lc, ver = fns["auth-request"], fns["bot-login-code"], fns["auth-verify"]
            started = time.monotonic()

            def must(inv: Invocation, what: str) -> Invocation:
                if inv.status() != 200:
                    raise RuntimeError(f"prepare: {what} answered {inv.status()}: {inv.raw[:400]!r}")
                return inv

            def fetch_code(i: int) -> str:
                inv = must(lc.invoke(make_event(self.tpl["bot-login-code"], body=self.bot_body(i))), "login-code")
                code = inv.json_body().get("code")
                if not code:
                    raise RuntimeError(f"prepare: login-code returned no code for identity {i}: {inv.raw[:300]!r}")
                return code

            for i in range(self.n):
                ip = ip_for(1, i)
                must(req.invoke(make_event(self.tpl["auth-request"], ip=ip, body=self.identity(i))), "request")
                c1 = fetch_code(i)
                v = must(ver.invoke(make_event(self.tpl["auth-verify"], ip=ip, body={"code": c1})), "verify")
                token = v.session_token()
                if not token:
                    raise RuntimeError(f"prepare: verify set no session cookie: {v.raw[:300]!r}")
                user = v.json_body()
                must(req.invoke(make_event(self.tpl["auth-request"], ip=ip, body=self.identity(i))), "request 2")
                c2 = fetch_code(i)
                self.users.append({"ip": ip, "id": user.get("id"), "username": user.get("username"), "s1": token, "c2": c2})
                if (i + 1) % 250 == 0:
                    log(f"prepared {i + 1}/{self.n} users ({time.monotonic() - started:.0f}s)")
        finally:
            for f in fns.values():
                f.stop()

    def event(self, function: str, i: int) -> dict:
        """The i-th invocation's event of a function (i counts over all of its runs)."""
        if function in ("bot-me", "bench-hello"):
            return make_event(self.tpl.get("bot-me") or load_event("bot-me"))
        tpl = self.tpl.get(function) or load_event("bot-login-code" if function == "python-login-code" else function)
        u = self.users[i % len(self.users)] if self.users else None
        if function == "auth-request":
            # a fresh identity from a fresh client IP: the first-code path (no earlier pointer)
            return make_event(tpl, ip=ip_for(2, i), body={"platform": "discord", "platform_user_id": str(300_000_000_000_000_000 + i)})
        if function == "auth-verify":
            # a returning user's login: identity i's pending web code C2, from its own IP
            return make_event(tpl, ip=u["ip"], body={"code": u["c2"]})
        if function == "auth-lookup":
            return make_event(tpl, ip=ip_for(3, i), body={"username": u["username"]})
        if function in ("bot-login-code", "python-login-code"):
            # identity i has a pending web code (C2): the code is returned, the profile recorded
            return make_event(self.tpl["bot-login-code"], body=self.bot_body(i % len(self.users)))
        if function == "bot-send-code":
            # an existing user without a live bot code: a new bot code is issued
            return make_event(tpl, body=self.bot_body(i % len(self.users)))
        if function in ("bot-me", "bench-hello"):
            return make_event(self.tpl.get("bot-me") or load_event("bot-me"))
        if function in ("users-me", "users-sessions"):
            # one signed-in user polling their profile / session list
            return make_event(tpl, cookie=self.users[0]["s1"])
        if function == "users-session-destroy":
            # user i (cookie S1) ends its other session S2, created by the verify benchmark
            suffix = self.verify_tokens[i % len(self.users)][-6:]
            return make_event(tpl, cookie=u["s1"], path=(f"/v1/users/me/sessions/{suffix}/destroy", {"token_suffix": suffix}))
        if function == "auth-logout":
            return make_event(tpl, ip=u["ip"], cookie=u["s1"])
        raise KeyError(function)

    def observe(self, function: str, i: int, inv: Invocation):
        if function == "auth-verify" and inv.status() == 200:
            token = inv.session_token()
            if token:
                self.verify_tokens[i % len(self.users)] = token


# ------------------------------------------------------------------------------------------
# Measuring

def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def zip_size(path: Path) -> int:
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-zip-{os.getpid()}-{path.parent.name}.zip"
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes(), compresslevel=9)
        return out.stat().st_size
    finally:
        out.unlink(missing_ok=True)


def measure(name: str, fn_factory, event_for, observe, cold_runs: int, warm: int, proxy: CountingProxy) -> dict:
    inits, firsts, statuses, first_ops = [], [], Counter(), []
    warm_lat, per_call_ops, cpu_us, rss_kb = [], [], None, []
    index = 0
    for run in range(cold_runs):
        fn = fn_factory(run)
        try:
            inits.append(fn.start())
            mark = proxy.mark()
            inv = fn.invoke(event_for(index))
            observe(index, inv)
            index += 1
            firsts.append(inv.latency_ms)
            first_ops.append(proxy.since(mark))
            statuses[str(inv.status())] += 1
            if run == cold_runs - 1:
                # the warm run: this same environment serves `warm` more invocations
                fn.idle()
                ticks0 = fn.cpu_ticks()
                for _ in range(warm):
                    event = event_for(index)
                    mark = proxy.mark()
                    inv = fn.invoke(event)
                    per_call_ops.append(proxy.since(mark))
                    observe(index, inv)
                    index += 1
                    warm_lat.append(inv.latency_ms)
                    statuses[str(inv.status())] += 1
                fn.idle()
                ticks1 = fn.cpu_ticks()
                cpu_us = (ticks1 - ticks0) / CLK_TCK * 1e6 / warm
            rss = fn.peak_rss_kb()
            if rss:
                rss_kb.append(rss)
        finally:
            fn.stop()
    counts = [len(o) for o in per_call_ops]
    mix = Counter("+".join(o) for o in per_call_ops).most_common(3)
    return {
        "init_ms": round(statistics.median(inits), 3),
        "first_invoke_ms": round(statistics.median(firsts), 3),
        "warm_p50_ms": round(pct(warm_lat, 50), 3),
        "warm_p99_ms": round(pct(warm_lat, 99), 3),
        "cpu_us_per_invoke": round(cpu_us, 1) if cpu_us is not None else None,
        "dynamodb_calls": statistics.median(counts) if counts else 0,
        "peak_rss_mb": round(max(rss_kb) / 1024, 2) if rss_kb else None,
        "zip_bytes": None,
        "detail": {
            "init_ms_runs": [round(x, 3) for x in inits],
            "first_invoke_ms_runs": [round(x, 3) for x in firsts],
            "warm_invocations": len(warm_lat),
            "warm_mean_ms": round(statistics.fmean(warm_lat), 3) if warm_lat else None,
            "warm_max_ms": round(max(warm_lat), 3) if warm_lat else None,
            "dynamodb_calls_min_max": [min(counts), max(counts)] if counts else None,
            "dynamodb_ops_typical": [{"ops": k or "(none)", "share": round(v / len(per_call_ops), 3)} for k, v in mix],
            "dynamodb_ops_cold": Counter("+".join(o) for o in first_ops).most_common(1)[0][0] if first_ops else None,
            "statuses": dict(statuses),
            "peak_rss_mb_runs": [round(x / 1024, 2) for x in rss_kb],
        },
    }


# ------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ddb", required=True, help="DynamoDB Local URL")
    ap.add_argument("--bin-dir", required=True, type=Path, help="host release binaries")
    ap.add_argument("--lambda-dir", required=True, type=Path, help="target/lambda (arm64 bootstraps)")
    ap.add_argument("--python", required=True, help="python with boto3 (the baseline's venv)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--logdir", required=True, type=Path)
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--warm", type=int, default=1000)
    ap.add_argument("--zip-note", default="", help="why arm64 zips are missing, if they are")
    ap.add_argument("--functions", nargs="+", required=True)
    args = ap.parse_args()
    args.logdir.mkdir(parents=True, exist_ok=True)

    proxy = CountingProxy(args.ddb)
    log(f"counting proxy {proxy.url} -> {args.ddb}")

    base_env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": os.environ["AWS_REGION"],
        "AWS_DEFAULT_REGION": os.environ["AWS_REGION"],
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        "AWS_SESSION_TOKEN": "benchsessiontoken",
        "AWS_ENDPOINT_URL": proxy.url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": str(ROOT),
        "_HANDLER": "bootstrap",
    }
    for k, v in os.environ.items():
        if k.startswith("PORTAL_") or k == "BOT_LOGIN_WEB_REQUIRED_EVERY":
            base_env[k] = v

    def env_for(name: str) -> dict:
        e = dict(base_env)
        e["AWS_LAMBDA_FUNCTION_NAME"] = name
        e["AWS_LAMBDA_LOG_GROUP_NAME"] = f"/aws/lambda/{name}"
        e["AWS_LAMBDA_LOG_STREAM_NAME"] = f"2026/01/01/[$LATEST]{uuid.uuid4().hex}"
        e["AWS_EXECUTION_ENV"] = "AWS_Lambda_python3.11" if name == "python-login-code" else "AWS_Lambda_provided.al2023"
        return e

    def bin_for(name: str) -> list[str]:
        if name == "python-login-code":
            return [args.python, str(ROOT / "bench" / "python_login_code.py")]
        return [str(args.bin_dir / name)]

    scenario = Scenario(args, env_for, bin_for)
    log(f"preparing data: {scenario.n} users, each with a session and a pending web code")
    t = time.monotonic()
    scenario.prepare(args.logdir)
    log(f"prepared in {time.monotonic() - t:.0f}s")

    # Order matters: verify creates the sessions destroy ends; logout ends the rest.
    order = ["bench-hello", "python-login-code"] + [f for f in [
        "bot-me", "auth-lookup", "bot-login-code", "bot-send-code", "auth-request",
        "users-me", "users-sessions", "auth-verify", "users-session-destroy", "auth-logout",
    ] if f in args.functions] + sorted(set(args.functions) - {
        "bot-me", "auth-lookup", "bot-login-code", "bot-send-code", "auth-request",
        "users-me", "users-sessions", "auth-verify", "users-session-destroy", "auth-logout"})

    results: dict[str, dict] = {}
    for name in order:
        log(f"measuring {name}: {args.cold_runs} cold starts, then {args.warm} warm invocations")
        t = time.monotonic()

        def factory(run: int, name=name):
            return Function(name, bin_for(name), env_for(name), args.logdir / f"{name}.log")

        r = measure(name, factory, lambda i, name=name: scenario.event(name, i),
                    lambda i, inv, name=name: scenario.observe(name, i, inv),
                    args.cold_runs, args.warm, proxy)
        kind = "baseline" if name in ("bench-hello", "python-login-code") else "function"
        r["kind"] = kind
        if name == "python-login-code":
            handler = ROOT / "bench" / "python_login_code.py"
            r["zip_bytes"] = zip_size(handler)
            r["detail"]["zip_note"] = "handler only: boto3/botocore come with the Lambda Python runtime"
        else:
            boot = args.lambda_dir / name / "bootstrap"
            if boot.is_file() and boot.read_bytes()[18:20] != b"\xb7\x00":
                r["detail"]["zip_note"] = f"{boot} is not an arm64 binary (make build ARCH=x86_64?)"
            elif boot.is_file():
                r["zip_bytes"] = zip_size(boot)
                r["detail"]["zip_of"] = str(boot.relative_to(ROOT)) if boot.is_relative_to(ROOT) else str(boot)
            else:
                r["detail"]["zip_note"] = args.zip_note or f"{boot} not built"
        bad = {k: v for k, v in r["detail"]["statuses"].items() if k != "200"}
        if bad:
            log(f"WARNING {name}: non-200 answers {bad} (see {args.logdir / (name + '.log')})")
        results[name] = r
        log(f"  {name}: init {r['init_ms']} ms, first {r['first_invoke_ms']} ms, p50 {r['warm_p50_ms']} ms, "
            f"p99 {r['warm_p99_ms']} ms, cpu {r['cpu_us_per_invoke']} us, ddb {r['dynamodb_calls']}, "
            f"rss {r['peak_rss_mb']} MB ({time.monotonic() - t:.0f}s)")

    checks = ratio_checks(results)
    doc = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"machine": os.uname().machine, "cpus": os.cpu_count(), "kernel": os.uname().release},
        "method": {
            "cold_runs": args.cold_runs, "warm_invocations": args.warm,
            "binaries": "host (x86_64) release builds; zip_bytes from the arm64 bootstraps of `make build`",
            "dynamodb": "DynamoDB Local (in-memory) behind a counting proxy; latencies include both",
            "init_ms": "spawn -> first GET /runtime/invocation/next (median of cold starts)",
            "first_invoke_ms": "cold invocation: event handed over -> response posted (median)",
            "cpu_us_per_invoke": "utime+stime (/proc/<pid>/stat) over the warm phase / invocations",
            "dynamodb_calls": "median DynamoDB requests per warm invocation (counting proxy)",
            "peak_rss_mb": "VmHWM (/proc/<pid>/status), max over runs",
        },
        "results": results,
        "checks": checks,
    }
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print_table(results, checks)
    print(f"\nwritten: {args.out}")
    return 0


TARGET_CALLS = {"bot-login-code": 2, "bot-send-code": 2, "auth-lookup": 2, "auth-request": 3, "auth-verify": 3}
ZIP_LIMIT = 4 * 1024 * 1024
RSS_LIMIT_MB = 24


def ratio_checks(results: dict) -> list[dict]:
    checks = []

    def add(ok, name, detail):
        checks.append({"result": "PASS" if ok else "MISS", "check": name, "detail": detail})

    hello = results.get("bench-hello")
    py = results.get("python-login-code")
    ours = {k: v for k, v in results.items() if v.get("kind") == "function"}
    if hello:
        limit = 1.5 * hello["init_ms"]
        for k, v in ours.items():
            add(v["init_ms"] <= limit, f"{k}: init_ms <= 1.5 x hello",
                f"{v['init_ms']:.2f} ms vs limit {limit:.2f} ms (hello {hello['init_ms']:.2f}; ratio {v['init_ms'] / hello['init_ms']:.2f}x)")
    ref = ours.get("bot-login-code")
    if py and ref:
        r = py["init_ms"] / ref["init_ms"]
        add(r >= 10, "python init_ms >= 10 x bot-login-code", f"{py['init_ms']:.1f} ms vs {ref['init_ms']:.2f} ms = {r:.1f}x")
        if py["cpu_us_per_invoke"] and ref["cpu_us_per_invoke"]:
            r = py["cpu_us_per_invoke"] / ref["cpu_us_per_invoke"]
            add(r >= 5, "python cpu_us_per_invoke >= 5 x bot-login-code",
                f"{py['cpu_us_per_invoke']:.0f} us vs {ref['cpu_us_per_invoke']:.0f} us = {r:.1f}x")
    for k, lim in TARGET_CALLS.items():
        if k in ours:
            add(ours[k]["dynamodb_calls"] <= lim, f"{k}: dynamodb_calls <= {lim}",
                f"{ours[k]['dynamodb_calls']} ({ours[k]['detail']['dynamodb_ops_typical'][0]['ops'] if ours[k]['detail']['dynamodb_ops_typical'] else ''})")
    for k, v in ours.items():
        add(v["peak_rss_mb"] is not None and v["peak_rss_mb"] <= RSS_LIMIT_MB, f"{k}: peak_rss_mb <= {RSS_LIMIT_MB}", f"{v['peak_rss_mb']} MB")
    for k, v in ours.items():
        if v["zip_bytes"] is None:
            add(False, f"{k}: zip <= 4 MiB", f"not measured: {v['detail'].get('zip_note')}")
        else:
            add(v["zip_bytes"] <= ZIP_LIMIT, f"{k}: zip <= 4 MiB", f"{v['zip_bytes']:,} bytes ({v['zip_bytes'] / 1048576:.2f} MiB)")
    return checks


def print_table(results: dict, checks: list[dict]):
    cols = ["init_ms", "first_invoke_ms", "warm_p50_ms", "warm_p99_ms", "cpu_us_per_invoke", "dynamodb_calls", "peak_rss_mb", "zip_bytes"]
    head = ["function"] + cols
    rows = []
    for k, v in results.items():
        rows.append([k + (" *" if v.get("kind") == "baseline" else "")] + ["-" if v[c] is None else (f"{v[c]:,}" if c == "zip_bytes" else str(v[c])) for c in cols])
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "  ".join(str(x).rjust(w) if i else str(x).ljust(w) for i, (x, w) in enumerate(zip(r, widths)))
    print()
    print(line(head))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))
    print("  * baseline")
    print()
    for c in checks:
        print(f"{c['result']}  {c['check']}: {c['detail']}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
