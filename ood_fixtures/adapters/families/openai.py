"""A model served behind an OpenAI-compatible chat-completions endpoint: `openai:MODEL@BASE_URL`.

For example `openai:Qwen/Qwen2-VL-7B-Instruct@http://127.0.0.1:8000/v1` (vLLM, SGLang, ...): this is how a run
scales past one machine, since the suite only sends requests. Each image is one request, asking the study's
multiple-choice question; the answer text is parsed for a label. In-context examples go in the same request, as
earlier user turns with their filled answers as assistant turns.

`--model-arg` keys: concurrency (requests in flight, default 8), timeout (seconds per request, default 60),
retries (extra attempts after a failure, default 3), backoff (first retry delay in seconds, doubling, default 0.5),
max_tokens (default 32), revision (recorded in the fingerprint only: an endpoint cannot tell us its weights).

`OPENAI_API_KEY`, when set, is sent as a bearer token; it never appears in describe(), errors or answers.
Only the standard library talks HTTP, so the adapter needs nothing a bare install lacks.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import numpy as np

from ood_fixtures import adapters
from ood_fixtures.adapters.base import Adapter, Episode, Prediction, Settings, SpecError
from ood_fixtures.adapters.prompts import filled_answer, in_context_messages, multiple_choice_question

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 3.0
DEFAULTS = {"concurrency": 8, "timeout": 60.0, "retries": 3, "backoff": 0.5, "max_tokens": 32}
# The first '@' followed by a scheme splits model from URL: a URL may itself hold '@' (user:password@host).
_SPEC = re.compile(r"^(?P<model>[^@]+)@(?P<url>[A-Za-z][A-Za-z0-9+.-]*://.+)$")


class _Endpoint:
    """The parsed spec: model name, the URL without credentials (safe to show), and the auth header to send."""

    def __init__(self, argument: str) -> None:
        match = _SPEC.match(argument.strip())
        if not match:
            raise SpecError(f"openai:{_clean_argument(argument)}: write openai:MODEL@http://host:port/v1")
        self.model = match["model"].strip()
        parts = urllib.parse.urlsplit(match["url"].rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SpecError(f"openai:{self.model}@{_strip_userinfo(parts)}: the URL must be http:// or https://, "
                            f"as in openai:MODEL@http://host:port/v1")  # fmt: skip
        self.base_url = _strip_userinfo(parts)
        self.secrets = [s for s in (os.environ.get("OPENAI_API_KEY"), parts.password, parts.username) if s]
        self.headers = {"Content-Type": "application/json"}
        if os.environ.get("OPENAI_API_KEY"):
            self.headers["Authorization"] = f"Bearer {os.environ['OPENAI_API_KEY']}"
        elif parts.username is not None:
            # Credentials in the URL (a proxy in front of the server): urllib would not send them by itself.
            userinfo = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            self.headers["Authorization"] = "Basic " + base64.b64encode(userinfo.encode()).decode()

    @property
    def name(self) -> str:
        return f"openai:{self.model}@{self.base_url}"

    def redact(self, text: str) -> str:
        """Text that may echo a secret (a server's error body, a model's answer) with the secrets masked."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def request(self, path: str, body: dict | None, timeout: float) -> bytes:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, headers=self.headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()


def _strip_userinfo(parts: urllib.parse.SplitResult) -> str:
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _clean_argument(argument: str) -> str:
    """A malformed argument, safe to echo: anything between '://' and the last '@' may be credentials."""
    return re.sub(r"://[^/]*@", "://", argument)


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        hint = "; set OPENAI_API_KEY to the server's API key" if error.code in (401, 403) else ""
        return f"HTTP {error.code} {error.reason}{hint}"
    if isinstance(error, urllib.error.URLError):
        error = error.reason if isinstance(error.reason, BaseException) else error
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
        return "timed out"
    return str(getattr(error, "reason", None) or error) or type(error).__name__


class OpenAIFactory:
    def check(self, argument: str, settings: Settings) -> None:
        endpoint = _Endpoint(argument)
        try:
            body = endpoint.request("/models", None, PROBE_TIMEOUT)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code in (401, 403):
                refused = "OPENAI_API_KEY was refused" if os.environ.get("OPENAI_API_KEY") else "no OPENAI_API_KEY"
                raise SpecError(f"{endpoint.name}: {endpoint.base_url}/models answered HTTP {error.code} "
                                f"({refused}); set OPENAI_API_KEY to the server's API key") from None  # fmt: skip
            return  # some servers lack /models; the first request will tell
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            raise SpecError(f"{endpoint.name}: cannot reach {endpoint.base_url}: {endpoint.redact(_reason(error))}; "
                            f"is the server running?") from None  # fmt: skip
        # A wrong model name is the commonest mistake, and /models lists the right ones.
        try:
            served = [entry["id"] for entry in json.loads(body)["data"]]
        except (ValueError, KeyError, TypeError):
            return
        if served and endpoint.model not in served:
            listed = endpoint.redact(", ".join(map(str, served[:10])))
            raise SpecError(f"{endpoint.name}: the server does not serve {endpoint.model!r}; it serves {listed}")

    def fingerprint(self, argument: str, settings: Settings) -> str | None:
        return endpoint_fingerprint(_Endpoint(argument), settings.model_args)

    def create(self, argument: str, settings: Settings) -> Adapter:
        if settings.answer_mode == "score":
            raise SpecError("openai: --answer-mode score needs log-probabilities, which chat endpoints do not give "
                            "reliably; use generate")  # fmt: skip
        return OpenAIAdapter(_Endpoint(argument), settings)


def endpoint_fingerprint(endpoint: _Endpoint, model_args: dict[str, str]) -> str:
    """A served model is known by its address, name and the revision the user states (the suite cannot see
    its weights): pass --model-arg revision=... when the server's model changes under the same name."""
    return f"endpoint:{endpoint.base_url}|{endpoint.model}|{model_args.get('revision', '')}"


def _option(model_args: dict[str, str], key: str, minimum: float) -> Any:
    default = DEFAULTS[key]
    raw = model_args.get(key)
    if raw is None:
        return default
    try:
        value = type(default)(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        kind = "a whole number" if isinstance(default, int) else "a number"
        raise SpecError(f"openai: --model-arg {key}={raw!r} must be {kind} >= {minimum:g}")
    return value


def png_data_url(image: np.ndarray) -> str:
    from ood_fixtures.images import to_base64

    return "data:image/png;base64," + to_base64(image)


def _with_images(messages: list[dict], urls: list[str]) -> list[dict]:
    """Chat messages with each image part, in order, given as an `image_url` part."""
    remaining = iter(urls)
    return [
        {**message, "content": [
            {"type": "image_url", "image_url": {"url": next(remaining)}} if part["type"] == "image" else part
            for part in message["content"]
        ]}
        for message in messages
    ]  # fmt: skip


class _Retry(Exception):
    """A failure worth another attempt: the server may be overloaded or restarting."""


class OpenAIAdapter(Adapter):
    def __init__(self, endpoint: _Endpoint, settings: Settings) -> None:
        self.endpoint = endpoint
        self.model_args = dict(settings.model_args)
        self.concurrency = _option(settings.model_args, "concurrency", 1)
        self.timeout = _option(settings.model_args, "timeout", 0.001)
        self.retries = _option(settings.model_args, "retries", 0)
        self.backoff = _option(settings.model_args, "backoff", 0)
        self.max_tokens = _option(settings.model_args, "max_tokens", 1)
        self.errors: list[str] = []  # one line per request that failed for good, for the log and the caller
        self.spec = endpoint.name

    def describe(self) -> dict[str, Any]:
        base_url = self.endpoint.base_url
        return {
            "spec": self.endpoint.redact(_clean_argument(self.spec)),
            "adapter": "openai",
            "model": self.endpoint.model,
            "base_url": base_url,
            "fingerprint": endpoint_fingerprint(self.endpoint, self.model_args),
        }

    def classify(self, images: Sequence[np.ndarray], labels: Sequence[str]) -> list[Prediction]:
        return self.classify_in_context([Episode((), image) for image in images], labels)

    def classify_in_context(self, episodes: Sequence[Episode], labels: Sequence[str]) -> list[Prediction]:
        """One request per episode: its examples as earlier turns with their filled answers, then the query."""
        from ood_fixtures.adapters.parsing import parse_answer

        question = multiple_choice_question(labels)

        def one(index: int) -> Prediction:
            episode = episodes[index]
            answers = [filled_answer(label, labels) for _, label in episode.examples]
            images = [png_data_url(image) for image, _ in episode.examples] + [png_data_url(episode.image)]
            try:
                content = self._ask(_with_images(in_context_messages(question, answers), images), seed=index)
            except Exception as error:  # noqa: BLE001 - a failed request is a wrong answer, never a lost one
                reason = self.endpoint.redact(str(error) if isinstance(error, _Retry) else _reason(error))
                self.errors.append(f"image {index}: {reason}")
                log.warning("%s: image %d failed: %s", self.endpoint.name, index, reason)
                return Prediction(None, None, f"[error] {reason}")
            content = self.endpoint.redact(content)
            return Prediction(parse_answer(content, labels), None, content)

        # map() keeps the episodes' order whatever order the answers arrive in.
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(one, range(len(episodes))))

    def _ask(self, messages: list[dict], seed: int) -> str:
        body = {"model": self.endpoint.model, "messages": messages, "temperature": 0, "max_tokens": self.max_tokens}
        jitter = random.Random(seed)  # seeded per image: the delays do not depend on thread scheduling
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                return self._once(body)
            except _Retry as error:
                if attempt == attempts - 1:
                    raise _Retry(f"{error} (after {attempts} attempts)") from None
                time.sleep(self.backoff * 2**attempt * (1 + 0.1 * jitter.random()))
        raise AssertionError("unreachable")

    def _once(self, body: dict) -> str:
        try:
            raw = self.endpoint.request("/chat/completions", body, self.timeout)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code == 429 or error.code >= 500:
                raise _Retry(_reason(error)) from None
            raise  # 400, 401, 404 ...: asking again gets the same answer
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            raise _Retry(_reason(error)) from None
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise _Retry("the response holds no choices[0].message.content") from None
        if not isinstance(content, str):
            raise _Retry("the response holds no choices[0].message.content")
        return content


adapters.register("openai", OpenAIFactory())
