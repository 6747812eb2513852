"""`max_tokens` and `stop` through the official `openai` Python SDK: the
gateway cuts the answer itself, as OpenAI would."""

import openai
import pytest
from openai import OpenAI

KEY = "sk-fakegpt-test"
PROMPT = "Cut me «short», please 👋"


def client_for(url: str) -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0, timeout=30)


@pytest.fixture
def client(server_factory, upstream_factory):
    """A client of `fakegpt serve` over `fakegpt upstream` (long replies)."""
    upstream = upstream_factory("--delay-ms", "0", "--reply-chars", "600", "--chars-per-event", "3")
    server = server_factory("serve", "--base-url", upstream.url, "--api-key", KEY)
    return client_for(server.url)


def ask(client: OpenAI, **options):
    return client.chat.completions.create(
        model="gpt-3.5-turbo", messages=[{"role": "user", "content": PROMPT}], **options
    )


def test_max_tokens_and_stop(client):
    whole = ask(client)
    full = whole.choices[0].message.content
    assert whole.choices[0].finish_reason == "stop"
    assert whole.usage.completion_tokens > 100

    cut = ask(client, max_tokens=20)
    text = cut.choices[0].message.content
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage.completion_tokens <= 20 and cut.usage.completion_tokens >= 18
    assert full.startswith(text) and len(text) < len(full)
    assert cut.usage.total_tokens == cut.usage.prompt_tokens + cut.usage.completion_tokens

    stream = ask(
        client,
        stop=["nowhere", "please"],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == full[: full.index("please")]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].usage.completion_tokens < 20

    with pytest.raises(openai.BadRequestError) as refused:
        ask(client, stop=["a", "b", "c", "d", "e"])
    assert refused.value.status_code == 400
    assert refused.value.body["param"] == "stop"
