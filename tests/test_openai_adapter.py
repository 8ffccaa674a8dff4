"""The openai: adapter against a fake OpenAI-compatible server on 127.0.0.1, scripted per test."""

import base64
import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from ood_fixtures import adapters
from ood_fixtures.adapters import Settings, SpecError
from ood_fixtures.adapters.families import openai as openai_adapter  # noqa: F401 - registers "openai"
from ood_fixtures.adapters.prompts import ANSWER_PREFIX

LABELS = ["dark", "bright"]
KEY = "sk-test-5ecret-key-0123456789"
MAX_REQUESTS = 200  # the fake server refuses past this, so a retry loop gone wrong cannot spin forever
FAST = {"timeout": "0.5", "backoff": "0.01", "retries": "3", "concurrency": "4"}


class FakeServer:
    """Scripts: `chat(image_value, attempt) -> (status, body, delay)`; `models_status` for GET /models."""

    def __init__(self) -> None:
        self.chat = lambda value, attempt: (200, answer("bright" if value > 127 else "dark"), 0.0)
        self.models_status = 200
        self.models = ["test-model"]
        self.attempts: dict[int, int] = {}  # image value -> requests seen
        self.headers: list[dict] = []
        self.bodies: list[dict] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout test)

            def do_GET(self):
                fake.headers.append(dict(self.headers))
                if self.path != "/v1/models":
                    return self.reply(404, b"{}")
                self.reply(fake.models_status, json.dumps({"data": [{"id": m} for m in fake.models]}).encode())

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.headers.append(dict(self.headers))
                    fake.bodies.append(body)
                    if len(fake.bodies) > MAX_REQUESTS:
                        return self.reply(400, b"{}")
                    value = image_value(body)
                    attempt = fake.attempts[value] = fake.attempts.get(value, 0) + 1
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    status, payload, delay = fake.chat(value, attempt)
                    time.sleep(max(delay, 0.02))  # a little latency, so that requests overlap
                    self.reply(status, payload)
                finally:
                    with fake.lock:
                        fake.in_flight -= 1

        return Handler


def answer(text: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": f"{ANSWER_PREFIX} {text}"}}]}).encode()


def image_value(body: dict) -> int:
    """The fake model's input: the pixel value of the (uniform) image in the request."""
    url = body["messages"][0]["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    return int(np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))).mean())


def images(*values: int) -> list[np.ndarray]:
    return [np.full((8, 8, 3), v, np.uint8) for v in values]


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake = FakeServer()
    thread = threading.Thread(target=fake.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def make(server: FakeServer, spec: str | None = None, **model_args: str):
    return adapters.create(spec or f"openai:test-model@{server.url}", Settings(model_args={**FAST, **model_args}))


def test_classifies_in_order_with_concurrent_requests(server):
    values = [10, 200, 30, 250, 0, 255, 90, 180]
    model = make(server)
    predictions = model.classify(images(*values), LABELS)
    assert [p.label for p in predictions] == ["bright" if v > 127 else "dark" for v in values]
    assert all(p.text.startswith(ANSWER_PREFIX) and p.scores is None for p in predictions)
    assert server.max_in_flight > 1
    body = server.bodies[0]
    assert body["model"] == "test-model" and body["temperature"] == 0 and body["max_tokens"] == 32
    assert "dark, bright" in body["messages"][0]["content"][1]["text"]
    assert "Authorization" not in server.headers[0]
    assert model.describe() == {
        "spec": f"openai:test-model@{server.url}",
        "adapter": "openai",
        "model": "test-model",
        "base_url": server.url,
        "fingerprint": f"endpoint:{server.url}|test-model|",
    }


def test_examples_go_in_the_same_request_as_earlier_turns(server):
    from ood_fixtures.adapters import Episode

    model = make(server)
    episode = Episode(((images(10)[0], "dark"), (images(250)[0], "bright")), images(200)[0])
    (prediction,) = model.classify_in_context([episode], LABELS)
    assert prediction.label == "dark"  # the fake server answers from the first image it is sent
    roles = [m["role"] for m in server.bodies[0]["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    answers = [m["content"][0]["text"] for m in server.bodies[0]["messages"] if m["role"] == "assistant"]
    assert answers == [f"{ANSWER_PREFIX} dark", f"{ANSWER_PREFIX} bright"]
    user = [m["content"] for m in server.bodies[0]["messages"] if m["role"] == "user"]
    assert all(c[0]["type"] == "image_url" and "dark, bright" in c[1]["text"] for c in user)
    assert model.capabilities() == ["classify_in_context"]


def test_transient_failures_are_retried(server):
    garbage = b"<html>bad gateway</html>"
    no_content = json.dumps({"choices": []}).encode()
    failures = {  # image value -> what its first attempts get
        1: [(500, b"{}", 0.0), (503, b"{}", 0.0)],
        2: [(200, garbage, 0.0)],
        3: [(200, b"{}", 1.0)],  # sleeps past the 0.5 s client timeout
        4: [(429, b"{}", 0.0)],
        5: [(200, no_content, 0.0)],
    }
    normal = server.chat
    server.chat = lambda v, n: failures[v][n - 1] if n <= len(failures.get(v, [])) else normal(v, n)
    predictions = make(server).classify(images(1, 2, 3, 4, 5, 6), LABELS)
    assert [p.label for p in predictions] == ["dark"] * 6
    assert server.attempts == {1: 3, 2: 2, 3: 2, 4: 2, 5: 2, 6: 1}


def test_lasting_failures_become_error_predictions(server):
    normal = server.chat
    server.chat = lambda v, n: {7: (500, b"{}", 0.0), 8: (400, b"{}", 0.0)}.get(v) or normal(v, n)
    model = make(server, retries="2")
    predictions = model.classify(images(200, 7, 8, 20), LABELS)
    assert len(predictions) == 4
    assert [p.label for p in predictions] == ["bright", None, None, "dark"]
    assert predictions[1].text.startswith("[error] HTTP 500") and "after 3 attempts" in predictions[1].text
    assert predictions[2].text.startswith("[error] HTTP 400")
    assert server.attempts[7] == 3 and server.attempts[8] == 1  # a 400 is not worth asking again
    assert len(model.errors) == 2


def test_api_key_is_sent_and_never_shown(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    normal = server.chat

    def chat(value, attempt):
        if value == 9:
            return 500, json.dumps({"error": f"bad key {KEY}"}).encode(), 0.0
        if value == 10:  # a server or model echoing the key must not leak it through the answer text
            return 200, answer(f"dark {KEY}"), 0.0
        return normal(value, attempt)

    server.chat = chat
    adapters.check(f"openai:test-model@{server.url}")
    model = make(server, retries="1")
    predictions = model.classify(images(9, 10, 200), LABELS)
    assert all(h.get("Authorization") == f"Bearer {KEY}" for h in server.headers)
    assert predictions[0].label is None and predictions[0].text.startswith("[error]")
    assert predictions[2].label == "bright"
    shown = json.dumps(model.describe()) + "".join(p.text for p in predictions) + "".join(model.errors)
    assert KEY not in shown


def test_credentials_in_url_are_sent_but_not_shown(server):
    host = server.url.removeprefix("http://")
    model = make(server, f"openai:test-model@http://alice:pa55word@{host}", revision="abc")
    assert model.classify(images(250), LABELS)[0].label == "bright"
    assert server.headers[-1]["Authorization"] == "Basic " + base64.b64encode(b"alice:pa55word").decode()
    described = model.describe()
    assert described["base_url"] == server.url and described["fingerprint"].endswith("|test-model|abc")
    assert "pa55word" not in json.dumps(described)


@pytest.mark.parametrize(
    "argument",
    ["test-model", "test-model@127.0.0.1:8000/v1", "@http://127.0.0.1:8000/v1", "test-model@"],
)
def test_check_rejects_malformed_specs(argument):
    with pytest.raises(SpecError, match="write openai:MODEL@http://host:port/v1"):
        adapters.check(f"openai:{argument}")


def test_check_rejects_other_schemes():
    with pytest.raises(SpecError, match="the URL must be http:// or https://"):
        adapters.check("openai:test-model@ftp://127.0.0.1/v1")


def test_check_reports_refused_connection(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    message = f"openai:test-model@{url}: cannot reach {url}: connection refused; is the server running?"
    with pytest.raises(SpecError) as error:
        adapters.check(f"openai:test-model@{url}")
    assert str(error.value) == message


def test_check_asks_for_a_key_on_401(server):
    server.models_status = 401
    with pytest.raises(SpecError, match=r"answered HTTP 401 \(no OPENAI_API_KEY\); set OPENAI_API_KEY"):
        adapters.check(f"openai:test-model@{server.url}")


def test_check_accepts_servers_without_models_and_names_wrong_models(server):
    adapters.check(f"openai:test-model@{server.url}")
    server.models_status = 404
    adapters.check(f"openai:anything@{server.url}")
    server.models_status = 200
    with pytest.raises(SpecError, match="does not serve 'other-model'; it serves test-model"):
        adapters.check(f"openai:other-model@{server.url}")


def test_create_refuses_score_mode_and_bad_model_args(server):
    with pytest.raises(SpecError, match="--answer-mode score needs log-probabilities.*use generate"):
        adapters.create(f"openai:test-model@{server.url}", Settings(answer_mode="score"))
    with pytest.raises(SpecError, match="concurrency='many' must be a whole number >= 1"):
        make(server, concurrency="many")


def test_an_endpoint_failing_mid_run_costs_answers_not_the_run(server, run_suite):
    """Through the whole suite: requests that keep failing become per-sample errors, counted wrong, none dropped."""
    server.chat = lambda value, attempt: (500, b"{}", 0.0) if value % 2 else (200, answer("red circle"), 0.0)
    run = run_suite("-k", "clean", "--samples", "12", "-n", "0", "--model", f"openai:test-model@{server.url}",
                    "--model-arg", "retries=1", "--model-arg", "backoff=0.01")
    assert run.returncode == 0, run.output[-2000:]  # ungated: no thresholds or baseline for this model
    (cell,) = run.results()["cells"]
    errors = [s for s in cell["samples"] if (s.get("text") or "").startswith("[error]")]
    assert cell["n"] == 12 and len(cell["samples"]) == 12 and 0 < len(errors) < 12
    assert all(s["prediction"] is None and not s["correct"] for s in errors)
    assert cell["unparsed"] >= len(errors)
    assert cell["correct"] == sum(s["prediction"] == s["label"] for s in cell["samples"])
