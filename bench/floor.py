"""The floor any client must pay for one answer: receive the bytes (curl
into /dev/null, logged in beforehand as a client would be). Prints curl's
CPU seconds and the body size.

usage: python floor.py URL PROMPT [DIALECT]

DIALECT `v1` offers the delta-encoded stream (`supported_encodings`), as
`fakegpt chat --dialect v1` does; `legacy` (the default) sends the original
body.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import urllib.parse


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def curl(*args: str) -> bytes:
    return subprocess.run(["curl", "-sS", *args], check=True, capture_output=True).stdout


def log_in(url: str) -> tuple[str, str]:
    """Logs in as a client would (loads, login, session) with curl: the
    cookie jar's path and the access token."""
    jar = tempfile.NamedTemporaryFile(delete=False).name
    loads = json.loads(curl(f"{url}/api/loads"))["loads"]
    form = urllib.parse.urlencode({"token_key": loads[0]["token_id"], "session_password": "abcdefghij"})
    curl("-c", jar, "-b", jar, "-L", "-d", form, f"{url}/auth/login")
    token = json.loads(curl("-b", jar, f"{url}/api/auth/session"))["accessToken"]
    return jar, token


def conversation(prompt: str, dialect: str) -> str:
    """The conversation request's body, offering `v1` when asked."""
    request = {
        "action": "next",
        "messages": [{"id": "1", "author": {"role": "user"}, "content": {"content_type": "text", "parts": [prompt]}, "metadata": {}}],
        "parent_message_id": "2", "model": "text-davinci-002-render-sha",
    }
    if dialect == "v1":
        request["supported_encodings"] = ["v1"]
    return json.dumps(request)


def receive(url: str, jar: str, token: str, body: str) -> tuple[float, int]:
    """curl receiving one answer into /dev/null: its CPU seconds and the
    body's size."""
    before = children_cpu()
    done = subprocess.run(
        ["curl", "-sS", "-b", jar, "-H", f"X-Authorization: Bearer {token}", "-H", "Content-Type: application/json",
         "-d", body, "-o", "/dev/null", "-w", "%{size_download}", f"{url}/api/conversation"],
        check=True, capture_output=True,
    )
    return children_cpu() - before, int(float(done.stdout))


def main() -> None:
    url, prompt = sys.argv[1], sys.argv[2]
    dialect = sys.argv[3] if len(sys.argv) > 3 else "legacy"
    jar, token = log_in(url)
    seconds, size = receive(url, jar, token, conversation(prompt, dialect))
    os.remove(jar)
    print(f"{seconds:.4f} {size}")


if __name__ == "__main__":
    main()
