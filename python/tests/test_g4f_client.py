"""gpt4free's own FakeGpt client (g4f 0.5.2.9, unmodified) against the emulator.

If the emulator speaks the chat-shared protocol faithfully, the original
client logs in, streams and reassembles the same answers as fakegpt's client.
"""

import asyncio

import pytest
from g4f.Provider.deprecated import FakeGpt

from conftest import fakegpt_chat


def g4f_answer(url: str, messages) -> str:
    """Runs g4f's FakeGpt with its class-level session reset and its `url`
    pointed at `url`; returns the concatenated chunks."""

    async def run() -> str:
        chunks = []
        async for chunk in FakeGpt.create_async_generator(model="gpt-3.5-turbo", messages=messages):
            chunks.append(chunk)
        return "".join(chunks)

    FakeGpt.url = url
    return asyncio.run(asyncio.wait_for(run(), timeout=60))


@pytest.fixture(autouse=True)
def fresh_g4f_session():
    FakeGpt._access_token = None
    FakeGpt._cookie_jar = None
    yield
    FakeGpt._access_token = None
    FakeGpt._cookie_jar = None


@pytest.mark.parametrize(
    "flags",
    [
        ["--delay-ms", "0"],
        ["--delay-ms", "0", "--crlf", "--noise"],
        ["--delay-ms", "0", "--split-writes", "--chars-per-event", "1", "--reply-chars", "400"],
    ],
    ids=["plain", "crlf-noise", "split-writes"],
)
def test_g4f_and_fakegpt_get_the_same_answer(upstream_factory, flags):
    upstream = upstream_factory(*flags)
    prompt = 'Tell me a joke about "quotes", \\backslashes\\ and Ünïcödé 👋'
    theirs = g4f_answer(upstream.localhost_url, [{"role": "user", "content": prompt}])
    ours = fakegpt_chat(upstream.url, prompt)
    assert ours.returncode == 0, ours.stderr
    assert theirs.startswith(f"You said: «{prompt}»")
    assert ours.stdout == theirs + "\n"


def test_g4f_formats_histories_like_fakegpt(upstream_factory):
    upstream = upstream_factory("--delay-ms", "0")
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Привет"},
    ]
    theirs = g4f_answer(upstream.localhost_url, messages)
    ours = fakegpt_chat(upstream.url, "Привет", "--system", "Be brief.")
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs + "\n"
    assert "System: Be brief.\nUser: Привет\nAssistant:" in theirs


def test_g4f_reuses_its_session(upstream_factory):
    upstream = upstream_factory("--delay-ms", "0")
    first = g4f_answer(upstream.localhost_url, [{"role": "user", "content": "one"}])
    token = FakeGpt._access_token
    assert token
    second = g4f_answer(upstream.localhost_url, [{"role": "user", "content": "two"}])
    assert FakeGpt._access_token == token
    assert first != second


def test_g4f_never_recovers_from_an_expired_token(upstream_factory):
    """The original kept a dead token forever ("No valid response" until a
    restart); fakegpt logs in again instead, as the Rust test
    `an_expired_token_is_renewed_once_and_the_request_retried` shows."""
    upstream = upstream_factory("--delay-ms", "0", "--token-expires-after", "1")
    g4f_answer(upstream.localhost_url, [{"role": "user", "content": "one"}])
    with pytest.raises(RuntimeError, match="No valid response"):
        g4f_answer(upstream.localhost_url, [{"role": "user", "content": "two"}])
