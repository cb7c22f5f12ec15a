"""Schemathesis hooks for CI's fuzzing run (loaded through SCHEMATHESIS_HOOKS=fuzz.hooks).

* Webhooks are signed like the provider signs them: when a case carries `X-Twilio-Signature`
  (the security scheme's placeholder), it is replaced by the real HMAC-SHA1 of the URL and the
  sorted form parameters, keyed with FUZZ_WEBHOOK_TOKEN. Cases that leave the header out (the
  checks that probe missing credentials) stay unsigned and must get 403.
* Voice-note URLs that the server would download are pointed at FUZZ_MEDIA_URL, a local file
  server, so the run never leaves the machine.
"""

import base64
import hashlib
import hmac
import json
import os
import re
from urllib.parse import parse_qsl, urlsplit

import requests
import schemathesis

TOKEN = os.environ["FUZZ_WEBHOOK_TOKEN"]
MEDIA_URL = os.environ["FUZZ_MEDIA_URL"]
SIGNATURE = "X-Twilio-Signature"
# The spec's URL rule (ChatRequest.audio_urls items), in Python's dialect: a URL the server
# accepts and would fetch.
_WS = "\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CTRL = "\u0000-\u001f\u007f-\u009f"
FETCHED_URL = re.compile(f"[Hh][Tt][Tt][Pp][Ss]?://[^/?#{_WS}{_CTRL}][^{_WS}{_CTRL}]*")


def _signature(url: str, params: list[tuple[str, str]]) -> str:
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    payload = url
    for name in sorted(grouped, key=lambda n: n.encode()):
        for value in sorted(grouped[name], key=lambda v: v.encode()):
            payload += name + value
    digest = hmac.new(TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _sign(case, base_url: str) -> None:
    kwargs = case.as_transport_kwargs(base_url=base_url)
    request = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        params=kwargs.get("params"),
        data=kwargs.get("data"),
        headers=kwargs.get("headers"),
    ).prepare()
    parts = urlsplit(request.url)
    url = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if parts.query:
        url += f"?{parts.query}"
    params: list[tuple[str, str]] = []
    content_type = (request.headers.get("Content-Type") or "").lower()
    if request.method != "GET" and content_type.startswith("application/x-www-form-urlencoded"):
        body = request.body or ""
        if isinstance(body, bytes):
            body = body.decode("utf-8", errors="replace")
        params = parse_qsl(body, keep_blank_values=True)
    case.headers[SIGNATURE] = _signature(url, params)


@schemathesis.hook
def before_call(context, case, kwargs):
    path = case.operation.path
    # The fuzzing's own key stays valid: revoking it would turn every later call into a 401.
    if path == "/keys/{prefix}/revoke" and case.path_parameters:
        if case.path_parameters.get("prefix") == os.environ["FUZZ_API_KEY"][:12]:
            case.path_parameters["prefix"] = "wak_00000000"
    if path.startswith("/webhook") and case.headers and SIGNATURE in case.headers:
        _sign(case, os.environ["FUZZ_BASE_URL"])
    if path.startswith("/chat") and isinstance(case.body, dict):
        urls = case.body.get("audio_urls")
        if isinstance(urls, list):
            case.body["audio_urls"] = [
                MEDIA_URL if isinstance(u, str) and FETCHED_URL.fullmatch(u) else u for u in urls
            ]


@schemathesis.deserializer("text/event-stream")
def chat_events(ctx, response):
    """Each event of `/chat/stream` as the spec declares it: its `data:` is one `ChatChunk`.

    Under OpenAPI 3.0 a `text/event-stream` schema describes one event's payload, which is how
    the SDK generators read it; Schemathesis reads it as the event frame instead, so the frames
    are parsed here and each payload is validated against the schema.
    """
    events, data = [], []
    # Server-Sent Events end lines with CR, LF or CRLF only; `splitlines()` would also split
    # inside a payload at U+0085 or U+2028, which JSON carries unescaped.
    text = response.content.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    for line in text.split("\n"):
        if line.startswith("data:"):
            data.append(line[len("data:") :].removeprefix(" "))
        elif not line and data:
            events.append(json.loads("\n".join(data)))
            data = []
    if data:
        events.append(json.loads("\n".join(data)))
    return events
