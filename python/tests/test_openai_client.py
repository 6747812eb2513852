"""The official `openai` Python SDK against `fakegpt serve`.

Every request goes through the SDK as an application would send it, to a
gateway in front of the emulator; answers are compared with what
`fakegpt chat` gets from an emulator of the same configuration.
"""

import openai
import pytest
from openai import OpenAI

from conftest import fakegpt_chat

KEY = "sk-fakegpt-test"


def client_for(url: str, key: str = KEY) -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)


@pytest.fixture
def gateway(server_factory, upstream_factory):
    """`fakegpt serve` (with an API key) over `fakegpt upstream`."""
    upstream = upstream_factory("--delay-ms", "0")
    server = server_factory("serve", "--base-url", upstream.url, "--api-key", KEY)
    return server, upstream


def expected(upstream, prompt: str) -> str:
    """The emulator's answer to `prompt`, as fakegpt's own client gets it."""
    result = fakegpt_chat(upstream.url, prompt)
    assert result.returncode == 0, result.stderr
    return result.stdout[:-1]


def test_non_streaming_completion(gateway):
    server, upstream = gateway
    prompt = "Tell me a joke about «quotes» 👋"
    completion = client_for(server.url).chat.completions.create(
        model="gpt-3.5-turbo",
        messages=[{"role": "user", "content": prompt}],
        temperature=0.5,
        max_tokens=100,
        user="tester",
    )
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-3.5-turbo"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == expected(upstream, prompt)
    usage = completion.usage
    assert usage.prompt_tokens > 5 and usage.completion_tokens > 10
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_streaming_completion_with_usage(gateway):
    server, upstream = gateway
    prompt = "Stream, please"
    stream = client_for(server.url).chat.completions.create(
        model="gpt-3.5-turbo",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("You said: «System: Be brief.\nUser: Stream, please\nAssistant:»")
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 10
    assert len({c.id for c in chunks}) == 1


def test_models(gateway):
    server, _ = gateway
    client = client_for(server.url)
    ids = [m.id for m in client.models.list()]
    assert ids[0] == "gpt-3.5-turbo"
    assert client.models.retrieve("gpt-3.5-turbo").id == "gpt-3.5-turbo"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4")


def test_client_errors(gateway):
    server, _ = gateway
    messages = [{"role": "user", "content": "x"}]
    with pytest.raises(openai.AuthenticationError) as auth:
        client_for(server.url, "sk-wrong").chat.completions.create(model="gpt-3.5-turbo", messages=messages)
    assert auth.value.code == "invalid_api_key"
    client = client_for(server.url)
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-4", messages=messages)
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as many:
        client.chat.completions.create(model="gpt-3.5-turbo", messages=messages, n=2)
    assert many.value.param == "n"
    with pytest.raises(openai.BadRequestError) as tools:
        client.chat.completions.create(
            model="gpt-3.5-turbo",
            messages=messages,
            tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        )
    assert tools.value.param == "tools"
    with pytest.raises(openai.BadRequestError) as image:
        client.chat.completions.create(
            model="gpt-3.5-turbo",
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}],
        )
    assert image.value.param == "messages[0].content[0].type"


def test_body_limit(server_factory):
    server = server_factory("serve", "--local", "--max-body-bytes", "2000")
    with pytest.raises(openai.APIStatusError) as large:
        client_for(server.url).chat.completions.create(
            model="gpt-3.5-turbo", messages=[{"role": "user", "content": "x" * 3000}]
        )
    assert large.value.status_code == 413


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_failure_is_a_502_before_any_output(server_factory, upstream_factory, stream):
    upstream = upstream_factory("--fault", "500@always")
    server = server_factory("serve", "--base-url", upstream.url)
    with pytest.raises(openai.InternalServerError) as failure:
        client_for(server.url).chat.completions.create(
            model="gpt-3.5-turbo", messages=[{"role": "user", "content": "x"}], stream=stream
        )
    assert failure.value.status_code == 502
    assert "upstream answered HTTP 500" in failure.value.message


def test_stalled_upstream_is_a_504(server_factory, upstream_factory):
    upstream = upstream_factory("--fault", "stall:0@always")
    server = server_factory("serve", "--base-url", upstream.url, "--idle-timeout", "0.5")
    with pytest.raises(openai.InternalServerError) as failure:
        client_for(server.url).chat.completions.create(
            model="gpt-3.5-turbo", messages=[{"role": "user", "content": "x"}]
        )
    assert failure.value.status_code == 504


def test_a_failure_mid_stream_reaches_the_client_after_the_text(server_factory, upstream_factory):
    upstream = upstream_factory("--delay-ms", "0", "--fault", "disconnect:4")
    server = server_factory("serve", "--base-url", upstream.url)
    stream = client_for(server.url).chat.completions.create(
        model="gpt-3.5-turbo", messages=[{"role": "user", "content": "x"}], stream=True
    )
    received = []
    with pytest.raises(openai.APIError) as failure:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received).startswith("You said")
    assert "broke off" in str(failure.value)


def test_reasoning_streams_apart_from_the_answer(server_factory, upstream_factory):
    """A delta-encoded upstream that reasons before it answers: with
    `include_reasoning` (passed as OpenAI's SDK passes extra fields), the
    reasoning comes as `delta.reasoning_content`, never inside `content`,
    and before it; without it, no reasoning at all."""
    thinking = upstream_factory("--delay-ms", "0", "--dialect", "v1", "--reasoning")
    server = server_factory("serve", "--base-url", thinking.url, "--dialect", "v1")
    # The same answer from an emulator that does not reason (replies
    # depend on the prompt alone).
    plain = upstream_factory("--delay-ms", "0")
    prompt = "Think it over: «why» is the sky \"blue\"? 🌤"
    answer = expected(plain, prompt)
    client = client_for(server.url, key="unused")

    stream = client.chat.completions.create(
        model="gpt-3.5-turbo",
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        extra_body={"include_reasoning": True},
    )
    content, reasoning, order = [], [], []
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        thought = (delta.model_extra or {}).get("reasoning_content")
        assert thought == getattr(delta, "reasoning_content", None)
        assert not (delta.content and thought), f"a chunk with both: {chunk}"
        if thought:
            reasoning.append(thought)
            order.append("reasoning")
        if delta.content:
            content.append(delta.content)
            order.append("content")
    assert "".join(content) == answer
    thoughts = "".join(reasoning)
    assert thoughts.startswith("Thinking about «Think it over: «why» is the sky \"blue\"?"), thoughts
    assert "Thinking about" not in answer and thoughts not in answer
    first_content = order.index("content")
    assert first_content > 0 and "reasoning" not in order[first_content:], order

    stream = client.chat.completions.create(
        model="gpt-3.5-turbo", messages=[{"role": "user", "content": prompt}], stream=True
    )
    chunks = [c for c in stream if c.choices]
    assert all("reasoning_content" not in (c.choices[0].delta.model_extra or {}) for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == answer

    whole = client.chat.completions.create(
        model="gpt-3.5-turbo",
        messages=[{"role": "user", "content": prompt}],
        extra_body={"include_reasoning": True},
    )
    message = whole.choices[0].message
    assert message.content == answer
    assert (message.model_extra or {}).get("reasoning_content") == thoughts
