#!/usr/bin/env python3
"""Fault suite driver: runs the release binary against PostgreSQL, a fake provider that can fail
or answer late, and a slow fake model; delivers signed webhooks, breaks things, then checks
what the patients got.

Per scenario it prints: deliveries, acknowledged, incoming rows, replies stored, sends seen by
the fake, duplicate sends, lost replies, order violations, and replies marked failed (with a
reason, conversation flagged). A scenario passes with 0 duplicates, 0 lost and 0 order
violations.

Standard library only; PostgreSQL is reached through `psql`.
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from email.utils import format_datetime
from datetime import datetime, timezone

ACCOUNT_SID = "AC" + "0" * 31 + "9"
AUTH_TOKEN = "fault-suite-auth-token"
FROM_NUMBER = "+14155550000"
PUBLIC_BASE = "https://agent.example.com"
PG_ADMIN = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- The fake provider ---------------------------------------------------------------------


class Provider:
    """What the fake provider knows and how it misbehaves."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sends = []  # dicts: sid, to, from, body, created
        self.fail_until = 0.0  # sends answer 500 until then (nothing created)
        self.late_until = 0.0  # sends are created, then answered after late_delay
        self.late_delay = 0.0
        self.answer_delay = (0.0, 0.0)  # normal answers take this long (uniform)

    def created(self):
        with self.lock:
            return list(self.sends)


def provider_handler(provider):
    expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting

        def authorized(self):
            if self.headers.get("Authorization") != expected:
                self.reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return False
            return True

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
            if not self.authorized():
                return
            now = time.time()
            if now < provider.fail_until:
                self.reply(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
                return
            with provider.lock:
                sid = "SM%032x" % (len(provider.sends) + 1)
                record = {
                    "sid": sid,
                    "to": form.get("To", [""])[0],
                    "from": form.get("From", [""])[0],
                    "body": form.get("Body", [""])[0],
                    "created": now,
                }
                provider.sends.append(record)
            if now < provider.late_until:
                time.sleep(provider.late_delay)
            else:
                time.sleep(random.uniform(*provider.answer_delay))
            self.reply(201, resource(record))

        def do_GET(self):
            if not self.authorized():
                return
            url = urllib.parse.urlparse(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            size = max(1, min(1000, int(query.get("PageSize", "50"))))
            page = int(query.get("Page", "0"))
            matching = [
                s
                for s in reversed(provider.created())
                if s["to"] == query.get("To", s["to"]) and s["from"] == query.get("From", s["from"])
            ]
            shown = matching[page * size : (page + 1) * size]
            base = f"{url.path}?" + urllib.parse.urlencode(
                {"To": query.get("To", ""), "From": query.get("From", ""), "PageSize": size}
            )
            more = (page + 1) * size < len(matching)
            self.reply(
                200,
                {
                    "messages": [resource(s) for s in shown],
                    "end": page * size + max(0, len(shown) - 1),
                    "first_page_uri": f"{base}&Page=0",
                    "next_page_uri": f"{base}&Page={page + 1}" if more else None,
                    "page": page,
                    "page_size": size,
                    "previous_page_uri": f"{base}&Page={page - 1}" if page else None,
                    "start": page * size,
                    "uri": f"{base}&Page={page}",
                },
            )

    return Handler


def resource(s):
    created = format_datetime(datetime.fromtimestamp(int(s["created"]), timezone.utc), usegmt=False)
    return {
        "sid": s["sid"],
        "account_sid": ACCOUNT_SID,
        "to": s["to"],
        "from": s["from"],
        "body": s["body"],
        "status": "queued",
        "direction": "outbound-api",
        "date_created": created,
        "date_updated": created,
        "date_sent": None,
        "error_code": None,
        "error_message": None,
        "num_segments": "1",
        "num_media": "0",
        "api_version": "2010-04-01",
        "price": None,
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{s['sid']}.json",
    }


# --- The fake model ------------------------------------------------------------------------


class Model:
    def __init__(self):
        self.delay = (0.05, 0.3)
        self.down = False
        self.calls = 0


def last_user_text(body):
    for message in reversed(body.get("messages", [])):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def model_handler(model):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, content_type, data):
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            model.calls += 1
            time.sleep(random.uniform(*model.delay))
            if model.down:
                error = {"error": {"message": "model overloaded", "type": "server_error"}}
                self.send(503, "application/json", json.dumps(error).encode())
                return
            text = "Noted: " + last_user_text(body)
            if not body.get("stream"):
                completion = {
                    "id": "chatcmpl-f",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "m"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text, "refusal": None},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }
                self.send(200, "application/json", json.dumps(completion).encode())
                return

            def chunk(delta, finish):
                c = {
                    "id": "chatcmpl-f",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": "m",
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                }
                return f"data: {json.dumps(c)}\n\n"

            events = chunk({"role": "assistant", "content": ""}, None)
            events += chunk({"content": text}, None)
            events += chunk({}, "stop")
            if (body.get("stream_options") or {}).get("include_usage"):
                events += "data: " + json.dumps(
                    {
                        "id": "chatcmpl-f",
                        "object": "chat.completion.chunk",
                        "created": 1,
                        "model": "m",
                        "choices": [],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    }
                ) + "\n\n"
            events += "data: [DONE]\n\n"
            self.send(200, "text/event-stream", events.encode())

    return Handler


def serve(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# --- PostgreSQL ------------------------------------------------------------------------------


def psql(url, sql, check=True):
    done = subprocess.run(
        ["psql", url, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
        env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr.strip()}")
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def database_url(name):
    server = PG_ADMIN.rsplit("/", 1)[0]
    return f"{server}/{name}"


# A private cluster's data directory (FAULTS_PG_DATA), for stopping PostgreSQL without touching
# the machine's cluster; otherwise the machine's cluster `main` is stopped and started.
PRIVATE_PG = os.environ.get("FAULTS_PG_DATA")


def pg_ready():
    return subprocess.run(["pg_isready", "-d", PG_ADMIN, "-q"]).returncode == 0


def pg_cluster(action):
    version = sorted(os.listdir("/etc/postgresql"))[0]
    if PRIVATE_PG:
        fast = " -m fast" if action == "stop" else ""
        command = (
            f"/usr/lib/postgresql/{version}/bin/pg_ctl -D {PRIVATE_PG} "
            f"-l {PRIVATE_PG}/../pg.log -w {action}{fast}"
        )
        args = ["su", "postgres", "-c", command]
    else:
        args = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
        if action == "stop":
            args += ["-m", "fast"]
    subprocess.run(args, check=False, stdout=subprocess.DEVNULL)


# --- The service ---------------------------------------------------------------------------


class Instance:
    def __init__(self, name, binary, env, logdir):
        self.name = name
        self.binary = binary
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port)}
        self.log_path = os.path.join(logdir, f"{name}.log")
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        log_file = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [self.binary], env=self.env, stdout=log_file, stderr=subprocess.STDOUT
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become healthy; see {self.log_path}")

    def kill9(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()


def signature(url, params):
    data = url + "".join(k + v for k, v in sorted(params))
    digest = hmac.new(AUTH_TOKEN.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def inbound(sid, number, body):
    return [
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("ProfileName", "Fault"),
        ("MessageType", "text"),
        ("SmsSid", sid),
        ("WaId", number.lstrip("+")),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", f"whatsapp:{FROM_NUMBER}"),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", f"whatsapp:{number}"),
        ("ApiVersion", "2010-04-01"),
    ]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries = 0
        self.acknowledged = set()

    def post(self, instance, params):
        """One delivery; True when acknowledged with 200."""
        with self.lock:
            self.deliveries += 1
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(
            instance.url + "/webhook",
            data=data,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature(PUBLIC_BASE + "/webhook", params),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                ok = response.status == 200
        except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
            ok = False
        if ok:
            with self.lock:
                self.acknowledged.add(dict(params)["MessageSid"])
        return ok

    def deliver(self, instances, first, params):
        """Delivers until acknowledged, like the provider: other instances, then later again."""
        for attempt in range(40):
            if self.post(instances[(first + attempt) % len(instances)], params):
                return True
            time.sleep(0.5)
        return False


# --- Scenarios -----------------------------------------------------------------------------


class Scenario:
    def __init__(
        self,
        name,
        users,
        per_user,
        redeliver=0.0,
        instances=2,
        model_delay=(0.05, 0.3),
        env=None,
        pace=0.0,
    ):
        self.name = name
        # Seconds between one user's messages, so deliveries go on while things break.
        self.pace = pace
        self.users = users
        self.per_user = per_user
        self.redeliver = redeliver
        self.instances = instances
        self.model_delay = model_delay
        self.env = env or {}

    def setup(self, provider, model):
        model.delay = self.model_delay

    def during(self, run):
        """Breaks things while deliveries go on (runs in its own thread)."""

    def after(self, run):
        """Repairs what `during` broke, once deliveries are all acknowledged."""


class KillNine(Scenario):
    def setup(self, provider, model):
        super().setup(provider, model)
        provider.answer_delay = (0.5, 1.5)

    def during(self, run):
        # Mid-turn and mid-send: the model takes up to 1.5 s and each send as long.
        for delay, index in ((1.5, 0), (3.5, 1), (6.0, 0)):
            time.sleep(delay)
            victim = run.instances[index]
            log(f"  kill -9 {victim.name}")
            victim.kill9()
            time.sleep(0.7)
            victim.start()


class PostgresStop(Scenario):
    def during(self, run):
        time.sleep(2)
        log("  stopping PostgreSQL for 8 s")
        pg_cluster("stop")
        try:
            time.sleep(8)
        finally:
            pg_cluster("start")
            for _ in range(60):
                if pg_ready():
                    break
                time.sleep(0.5)
            log("  PostgreSQL is back")


class ProviderOutage(Scenario):
    def __init__(self, *args, outage_secs, **kwargs):
        super().__init__(*args, **kwargs)
        self.outage_secs = outage_secs

    def setup(self, provider, model):
        super().setup(provider, model)
        provider.fail_until = time.time() + self.outage_secs
        log(f"  the provider answers 500 for {self.outage_secs} s")


class ProviderLate(Scenario):
    def setup(self, provider, model):
        super().setup(provider, model)
        provider.late_until = time.time() + 12
        provider.late_delay = 2.5
        log("  the provider accepts sends but answers after the client's timeout, for 12 s")


class ModelDown(Scenario):
    def setup(self, provider, model):
        super().setup(provider, model)
        model.down = True


def scenarios(args):
    base = {
        "APP_WORKER__LEASE_SECS": "3",
        "APP_WORKER__RETRY_BASE_MS": "200",
        "APP_WORKER__RETRY_MAX_SECS": "2",
        "APP_WORKER__MAX_ATTEMPTS": "3",
        "APP_WORKER__CLOCK_SKEW_SECS": "2",
    }
    all_ = [
        Scenario("redelivery on two instances", users=20, per_user=11, redeliver=0.36),
        KillNine(
            "kill -9 mid-turn and mid-send x3",
            users=10,
            per_user=6,
            model_delay=(0.5, 1.5),
            # Sends take up to 1.5 s and are answered in time: kills land mid-send.
            env={"APP_TWILIO__REQUEST_TIMEOUT_MS": "5000"},
            pace=0.8,
        ),
        PostgresStop(
            "PostgreSQL stopped 8 s", users=10, per_user=8, model_delay=(0.3, 0.8), pace=1.5
        ),
        ProviderOutage(
            f"provider 500 for {args.outage_secs} s", users=20, per_user=1, outage_secs=args.outage_secs
        ),
        ProviderLate("provider accepts, answers late", users=10, per_user=2),
        # Longer than the reply window: every reply is marked failed and flagged, none lost.
        ProviderOutage(
            "provider 500 past the reply window",
            users=5,
            per_user=2,
            outage_secs=600,
            env={"APP_WORKER__SEND_WINDOW_SECS": "4"},
        ),
        ModelDown("model failing for good", users=5, per_user=3),
    ]
    for s in all_:
        s.env = {**base, **s.env}
    return [s for s in all_ if args.only is None or any(o in s.name for o in args.only)]


class Run:
    def __init__(self, scenario, binary, provider_url, model_url, logdir):
        self.scenario = scenario
        self.db = "wa_faults_" + uuid.uuid4().hex[:12]
        psql(PG_ADMIN, f'CREATE DATABASE "{self.db}"')
        self.url = database_url(self.db)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "APP_CONFIG_DIR": os.path.join(os.path.dirname(__file__), "..", "..", "config"),
            "HOST": "127.0.0.1",
            "DATABASE_URL": self.url,
            "OPENAI_API_KEY": "sk-fault-suite",
            "OPENAI_BASE_URL": model_url + "/v1",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_PHONE_NUMBER": FROM_NUMBER,
            "TWILIO_API_BASE_URL": provider_url,
            "PUBLIC_BASE_URL": PUBLIC_BASE,
            "APP_LOG__LEVEL": "warn",
            "APP_LOG__FORMAT": "json",
            "APP_WORKER__CONCURRENCY": "4",
            "APP_WORKER__POLL_INTERVAL_MS": "50",
            "APP_TWILIO__REQUEST_TIMEOUT_MS": "1000",
            "APP_TWILIO__MAX_SEND_RETRIES": "1",
            "APP_LLM__MAX_RETRIES": "0",
            "APP_LLM__REQUEST_TIMEOUT_SECS": "10",
            "APP_LIMITS__PER_KEY_PER_MINUTE": "0",
            "APP_LIMITS__PER_USER_PER_MINUTE": "0",
            "APP_DATABASE__ACQUIRE_TIMEOUT_SECS": "3",
            **scenario.env,
        }
        tag = scenario.name.split()[0]
        self.instances = [
            Instance(f"{tag}-{i}", binary, env, logdir) for i in range(scenario.instances)
        ]

    def close(self):
        for instance in self.instances:
            instance.stop()
        psql(PG_ADMIN, f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)', check=False)


def run_scenario(scenario, binary, logdir, settle_secs):
    provider, model = Provider(), Model()
    provider_server, provider_url = serve(provider_handler(provider))
    model_server, model_url = serve(model_handler(model))
    run = Run(scenario, binary, provider_url, model_url, logdir)
    try:
        for instance in run.instances:
            instance.start()
        scenario.setup(provider, model)
        tally = Tally()
        chaos = threading.Thread(target=scenario.during, args=(run,), daemon=True)
        chaos.start()
        stamp = uuid.uuid4().hex[:8]
        rng = random.Random(stamp)

        def user(u):
            number = f"+1415666{u:04d}"
            for k in range(scenario.per_user):
                sid = f"SM{stamp}{u:04d}{k:04d}".ljust(34, "0")
                params = inbound(sid, number, f"user {u} message {k}: can I book a visit")
                again = rng.random() < scenario.redeliver
                extra = None
                if again:
                    # The provider's redelivery, at the same time, to another instance.
                    extra = threading.Thread(target=tally.post, args=(run.instances[(u + k + 1) % len(run.instances)], params))
                    extra.start()
                tally.deliver(run.instances, u + k, params)
                if extra:
                    extra.join()
                time.sleep(rng.uniform(0, 2 * scenario.pace))

        threads = [threading.Thread(target=user, args=(u,)) for u in range(scenario.users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        chaos.join()
        scenario.after(run)
        settled = wait_settled(run, settle_secs)
        return measure(scenario, run, tally, provider, settled)
    finally:
        run.close()
        provider_server.shutdown()
        model_server.shutdown()


def wait_settled(run, secs):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            rows = psql(run.url, "SELECT COUNT(*) FROM inbound_jobs WHERE status IN ('pending', 'running')")
            if rows and rows[0][0] == "0":
                return True
        except RuntimeError:
            pass
        time.sleep(0.5)
    return False


def measure(scenario, run, tally, provider, settled):
    sends = provider.created()
    incoming = int(psql(run.url, "SELECT COUNT(*) FROM messages WHERE direction = 'incoming'")[0][0])
    replies = int(psql(run.url, "SELECT COUNT(*) FROM messages WHERE direction = 'outgoing'")[0][0])
    recorded = {r[0] for r in psql(run.url, "SELECT provider_message_id FROM deliveries WHERE message_id IS NOT NULL")}
    sent_sids = {s["sid"] for s in sends}
    # A send whose id no reply recorded is a second copy of a part (or an orphan).
    duplicates = sum(1 for s in sends if s["sid"] not in recorded)
    by_body = {}
    for s in sends:
        if " message " in s["body"]:
            by_body[(s["to"], s["body"])] = by_body.get((s["to"], s["body"]), 0) + 1
    duplicates = max(duplicates, sum(n - 1 for n in by_body.values()))
    rows = psql(
        run.url,
        "SELECT m.provider_message_id, COALESCE(j.status, ''), COALESCE(r.provider_message_id, ''), "
        "COALESCE(r.delivery_status, ''), COALESCE(r.error, ''), COALESCE(c.flag_reason, '') "
        "FROM messages m LEFT JOIN inbound_jobs j ON j.message_id = m.id "
        "LEFT JOIN messages r ON r.id = j.reply_message_id "
        "LEFT JOIN conversations c ON c.id = COALESCE(r.conversation_id, m.conversation_id) "
        "WHERE m.direction = 'incoming'",
    )
    outcome = {}
    for sid, status, reply_sid, delivery, error, flag in rows:
        if status == "done" and reply_sid and reply_sid in sent_sids:
            outcome[sid] = "sent"
        elif status == "failed" and delivery == "failed" and error and flag:
            outcome[sid] = "failed"
        else:
            outcome[sid] = "lost"
    lost = sum(1 for sid in tally.acknowledged if outcome.get(sid, "lost") == "lost")
    failed = sum(1 for v in outcome.values() if v == "failed")
    order = 0
    last = {}
    for s in sends:
        if " message " not in s["body"]:
            continue
        k = int(s["body"].split(" message ")[1].split(":")[0])
        if s["to"] in last and k <= last[s["to"]]:
            order += 1
        last[s["to"]] = k
    return {
        "scenario": scenario.name,
        "deliveries": tally.deliveries,
        "acknowledged": len(tally.acknowledged),
        "incoming rows": incoming,
        "replies stored": replies,
        "sends seen": len(sends),
        "duplicate sends": duplicates,
        "lost replies": lost,
        "order violations": order,
        "failed+flagged": failed,
        "settled": settled,
    }


COLUMNS = [
    "deliveries",
    "acknowledged",
    "incoming rows",
    "replies stored",
    "sends seen",
    "duplicate sends",
    "lost replies",
    "order violations",
    "failed+flagged",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("binary", help="the release binary")
    parser.add_argument("--only", action="append", help="run scenarios whose name contains this")
    parser.add_argument("--pg-stop", action="store_true", help="include stopping PostgreSQL")
    parser.add_argument("--outage-secs", type=int, default=int(os.environ.get("FAULTS_OUTAGE_SECS", "20")))
    parser.add_argument("--settle-secs", type=int, default=90)
    args = parser.parse_args()
    chosen = [s for s in scenarios(args) if args.pg_stop or not isinstance(s, PostgresStop)]
    logdir = tempfile.mkdtemp(prefix="wa_faults_")
    log(f"instance logs in {logdir}")
    widths = [max(len(c), 6) for c in COLUMNS]
    print(f"{'scenario':<40} " + " ".join(f"{c:>{w}}" for c, w in zip(COLUMNS, widths)), flush=True)
    failures = 0
    for scenario in chosen:
        log(f"scenario: {scenario.name}")
        result = run_scenario(scenario, args.binary, logdir, args.settle_secs)
        bad = result["duplicate sends"] or result["lost replies"] or result["order violations"]
        bad = bad or not result["settled"]
        failures += bool(bad)
        mark = "" if not bad else ("  FAIL" if result["settled"] else "  FAIL (did not settle)")
        print(
            f"{result['scenario']:<40} "
            + " ".join(f"{result[c]:>{w}}" for c, w in zip(COLUMNS, widths))
            + mark,
            flush=True,
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
