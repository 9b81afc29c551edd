"""A scripted judge server on 127.0.0.1, for tests and benchmarks only (never a real judge).

It speaks the two wire formats the official SDKs use, so they can be pointed at
it through their ``base_url``:

- OpenAI chat completions: ``POST {openai_base_url}/chat/completions``
- Anthropic messages: ``POST {anthropic_base_url}/v1/messages``

A *script* decides each reply from the request it saw (its text, the item id
found in it, how many times the same request came before): a verdict, a 429
with ``retry-after``, a 500/529, a timeout, a garbled body, or a dropped
connection. :func:`scripted` builds one from a verdict function and a
:class:`Faults` plan. The server counts every request, per request and per item,
and what it answered, so tests can prove that nothing was asked twice.
``hold_after(n)`` lets the first ``n`` requests through and holds every later
one unanswered (until :meth:`stop`): a run can then be killed at a point where
nothing it was sent is half done.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Api = Literal["openai", "anthropic"]
ReplyKind = Literal["ok", "rate_limit", "server_error", "overloaded", "timeout", "garbled", "drop",
                    "bad_request"]
ITEM_PATTERN = r"\bITEM-([A-Za-z0-9_-]+)"
PATHS: dict[str, Api] = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}


@dataclass(frozen=True)
class SeenRequest:
    """One request as the server saw it."""

    api: Api
    model: str
    text: str  # system prompt and message contents, joined
    item: str | None  # the id ITEM_PATTERN found in the text
    key: str  # identifies the judgement asked for (same text, same model, same API)
    attempt: int  # earlier requests with the same key
    body: dict[str, Any]
    at: float  # time.monotonic() on arrival


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind = "ok"
    text: str = ""
    retry_after_s: float | None = None
    delay_s: float = 0.0  # on top of the server's latency; a "timeout" sleeps this long, then hangs up
    message: str = ""  # an error reply's message (default: the kind)
    usage: tuple[int, int] | None = None  # reported (input, output) tokens (default: ~4 chars a token)


Script = Callable[[SeenRequest], Reply]


@dataclass(frozen=True)
class Faults:
    """Injected failures, decided by a hash of (seed, request, attempt): the same every run."""

    rate_limit: float = 0.0
    server_error: float = 0.0
    timeout: float = 0.0
    garbled: float = 0.0
    malformed: float = 0.0  # per request, not per attempt: a valid reply with no verdict in it
    retry_after_s: float = 0.05
    timeout_delay_s: float = 2.0
    faulty_attempts: int = 3  # attempts from this number on always succeed
    seed: int = 0


def uniform(*parts: object) -> float:
    """A stable number in [0, 1) from ``parts``."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def hashed_rating(seen: SeenRequest, low: int = 1, high: int = 5) -> str:
    """A judge-like answer whose rating depends only on the request."""
    score = low + int(uniform("rating", seen.key) * (high - low + 1))
    return f"The response addresses the request with some gaps.\nRating: [[{score}]]"


MALFORMED_TEXT = "I have looked at this carefully and I think it is quite reasonable overall."


def scripted(verdict: Callable[[SeenRequest], str] = hashed_rating, faults: Faults | None = None) -> Script:
    """A script answering ``verdict(request)``, with ``faults`` injected first."""
    plan = faults or Faults()

    def script(seen: SeenRequest) -> Reply:
        if seen.attempt < plan.faulty_attempts:
            u = uniform(plan.seed, seen.key, seen.attempt)
            edges: list[tuple[float, Reply]] = [
                (plan.rate_limit, Reply("rate_limit", retry_after_s=plan.retry_after_s)),
                (plan.server_error, Reply("server_error")),
                (plan.timeout, Reply("timeout", delay_s=plan.timeout_delay_s)),
                (plan.garbled, Reply("garbled")),
            ]
            for share, reply in edges:
                if u < share:
                    return reply
                u -= share
        if uniform(plan.seed, seen.key, "malformed") < plan.malformed:
            return Reply("ok", MALFORMED_TEXT)
        return Reply("ok", verdict(seen))

    return script


@dataclass
class _State:
    script: Script
    latency_s: float
    api_key: str | None
    item_re: re.Pattern[str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    seen: list[SeenRequest] = field(default_factory=list)
    # Per request, in arrival order: the reply kind once sent ("held", "lost": never answered).
    outcomes: list[str | None] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)  # verdicts delivered, per request key
    answered_items: Counter[str] = field(default_factory=Counter)
    admitted: int = 0
    hold_after: int | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: _State) -> None:
        self.state = state
        super().__init__(("127.0.0.1", 0), _Handler)  # port 0: the OS picks a free one

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client hanging up mid-reply is part of the script (timeouts, kills), not news


class LoopbackJudge:
    """The server. Use as a context manager; ``openai_base_url`` / ``anthropic_base_url`` for the SDKs."""

    def __init__(self, script: Script | None = None, *, latency_s: float = 0.0,
                 api_key: str | None = None, item_pattern: str = ITEM_PATTERN) -> None:
        self._state = _State(script or scripted(), latency_s, api_key, re.compile(item_pattern))
        self._server = _Server(self._state)
        # A short poll: shutdown() waits up to one poll interval, and tests start many servers.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    def start(self) -> LoopbackJudge:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()  # releases held and sleeping handlers
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackJudge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_script(self, script: Script) -> None:
        with self._state.lock:
            self._state.script = script

    def hold_after(self, n: int | None) -> None:
        """Answer only ``n`` more requests; hold the rest unanswered (None: stop holding new ones)."""
        with self._state.lock:
            self._state.admitted = 0
            self._state.hold_after = n

    @property
    def requests(self) -> list[SeenRequest]:
        with self._state.lock:
            return list(self._state.seen)

    def exchanges(self) -> list[tuple[SeenRequest, str | None]]:
        """Every request with its outcome, consistently (one lock)."""
        with self._state.lock:
            return list(zip(self._state.seen, self._state.outcomes, strict=True))

    @property
    def outcomes(self) -> list[str | None]:
        """The reply kind of each request in :attr:`requests` (None while it is being answered)."""
        with self._state.lock:
            return list(self._state.outcomes)

    @property
    def request_count(self) -> int:
        with self._state.lock:
            return len(self._state.seen)

    def received_per_item(self) -> Counter[str]:
        with self._state.lock:
            return Counter(s.item for s in self._state.seen if s.item is not None)

    def answered_per_item(self) -> Counter[str]:
        with self._state.lock:
            return Counter(self._state.answered_items)

    def answered_per_key(self) -> Counter[str]:
        with self._state.lock:
            return Counter(self._state.answered)

    @property
    def answered_count(self) -> int:
        with self._state.lock:
            return sum(self._state.answered.values())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' connection pools expect
    disable_nagle_algorithm = True  # headers and body go out as separate writes; don't hold the body
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests capture logs
        return

    def do_POST(self) -> None:
        state: _State = self.server.state
        body = self._read_json()
        api = PATHS.get(self.path.split("?")[0])
        if api is None or body is None:
            self._send(404 if api is None else 400, {"error": {"message": "not found or not JSON"}})
            return
        if not self._authorized(api, state.api_key):
            self._send(401, _error_body(api, 401, "invalid api key"))
            return
        index, seen, reply, held = self._admit(state, api, body)
        if held:
            state.stopping.wait()
            self.close_connection = True
            return
        if state.stopping.wait(state.latency_s + reply.delay_s):
            self.close_connection = True
            return
        delivered = self._reply(api, seen, reply)
        with state.lock:
            state.outcomes[index] = reply.kind if delivered or reply.kind != "ok" else "lost"
            if delivered and reply.kind == "ok":
                state.answered[seen.key] += 1
                if seen.item is not None:
                    state.answered_items[seen.item] += 1

    def _admit(self, state: _State, api: Api,
               body: dict[str, Any]) -> tuple[int, SeenRequest, Reply, bool]:
        text = _request_text(api, body)
        model = str(body.get("model", ""))
        key = hashlib.sha256(f"{api}\x00{model}\x00{text}".encode()).hexdigest()[:16]
        match = state.item_re.search(text)
        with state.lock:
            seen = SeenRequest(api, model, text, match.group(1) if match else None, key,
                               state.attempts[key], body, time.monotonic())
            state.attempts[key] += 1
            index = len(state.seen)
            state.seen.append(seen)
            held = state.hold_after is not None and state.admitted >= state.hold_after
            state.admitted += 0 if held else 1
            state.outcomes.append("held" if held else None)
            script = state.script
        return index, seen, (Reply() if held else script(seen)), held

    def _read_json(self) -> dict[str, Any] | None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except json.JSONDecodeError:
            return None
        return body if isinstance(body, dict) else None

    def _authorized(self, api: Api, key: str | None) -> bool:
        # Anthropic's API takes x-api-key; its SDK 2.x sends a bearer token. Accept either.
        if key is None:
            return True
        bearer = self.headers.get("authorization") == f"Bearer {key}"
        return bearer or (api == "anthropic" and self.headers.get("x-api-key") == key)

    def _reply(self, api: Api, seen: SeenRequest, reply: Reply) -> bool:
        if reply.kind in ("timeout", "drop"):
            self.close_connection = True
            return False
        if reply.kind == "garbled":
            return self._send(200, None, raw=b'{"id": "x", "choices": [{"mess')
        if reply.kind == "ok":
            return self._send(200, _ok_body(api, seen, reply))
        status = {"rate_limit": 429, "server_error": 500, "overloaded": 529, "bad_request": 400}[reply.kind]
        headers = {}
        if reply.retry_after_s is not None:
            headers = {"retry-after-ms": str(int(reply.retry_after_s * 1000)),
                       "retry-after": str(math.ceil(reply.retry_after_s))}
        message = reply.message or reply.kind.replace("_", " ")
        return self._send(status, _error_body(api, status, message), headers)

    def _send(self, status: int, payload: dict[str, Any] | None, headers: dict[str, str] | None = None,
              raw: bytes | None = None) -> bool:
        data = raw if raw is not None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client hung up (timed out or was killed)
            self.close_connection = True
            return False
        return True


def _request_text(api: Api, body: dict[str, Any]) -> str:
    parts: list[str] = []
    if api == "anthropic" and isinstance(body.get("system"), str):
        parts.append(body["system"])
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [str(b.get("text", "")) for b in content if isinstance(b, dict)]
    return "\n".join(parts)


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _ok_body(api: Api, seen: SeenRequest, reply: Reply) -> dict[str, Any]:
    text = reply.text
    prompt_tokens, completion_tokens = reply.usage or (_tokens(seen.text), _tokens(text))
    if api == "openai":
        return {"id": f"chatcmpl-{seen.key}", "object": "chat.completion", "created": 0,
                "model": seen.model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens}}
    return {"id": f"msg_{seen.key}", "type": "message", "role": "assistant", "model": seen.model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens}}


def _error_body(api: Api, status: int, message: str) -> dict[str, Any]:
    if api == "openai":
        return {"error": {"message": message, "type": "loopback_error", "code": str(status)}}
    kinds = {401: "authentication_error", 429: "rate_limit_error", 529: "overloaded_error",
             400: "invalid_request_error"}
    return {"type": "error", "error": {"type": kinds.get(status, "api_error"), "message": message}}
