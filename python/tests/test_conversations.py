"""Native conversations through the official `openai` Python SDK: the
client sends the whole history every turn, `fakegpt serve
--native-conversations` continues the conversation the upstream keeps, and
the emulator (a separate `fakegpt upstream` process) counts the continued
turns; without the switch nothing is kept."""

import json
import urllib.request

from openai import OpenAI

KEY = "sk-fakegpt-test"


def counters(upstream_url: str) -> dict:
    with urllib.request.urlopen(f"{upstream_url}/_emulator/counters", timeout=10) as response:
        return json.load(response)


def converse(client: OpenAI, turns: int) -> list:
    """Asks `turns` questions, each with the whole history; the answers."""
    messages = [{"role": "system", "content": "Be brief."}]
    answers = []
    for turn in range(1, turns + 1):
        messages.append({"role": "user", "content": f"Question {turn}"})
        stream = client.chat.completions.create(
            model="gpt-3.5-turbo", messages=messages, stream=turn % 2 == 0
        )
        if turn % 2 == 0:
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        else:
            text = stream.choices[0].message.content
        answers.append(text)
        messages.append({"role": "assistant", "content": text})
    return answers


def test_the_sdk_continues_kept_conversations(server_factory, upstream_factory):
    upstream = upstream_factory("--delay-ms", "0")
    server = server_factory(
        "serve", "--base-url", upstream.url, "--api-key", KEY, "--native-conversations"
    )
    client = OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=30)
    answers = converse(client, 4)
    for turn, answer in enumerate(answers[1:], start=2):
        assert answer.startswith(f"(turn {turn}) "), answer
        assert f"Question {turn}" in answer and "Question 1" not in answer
    seen = counters(upstream.url)
    assert (seen["kept"], seen["continued"]) == (1, 3)


def test_without_the_switch_nothing_is_kept(server_factory, upstream_factory):
    upstream = upstream_factory("--delay-ms", "0")
    server = server_factory("serve", "--base-url", upstream.url, "--api-key", KEY)
    client = OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=30)
    answers = converse(client, 3)
    assert not any(answer.startswith("(turn") for answer in answers)
    seen = counters(upstream.url)
    assert (seen["kept"], seen["continued"]) == (0, 0)
