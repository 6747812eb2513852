"""What stands between curl and `fakegpt chat` on one answer: every client
run in turn, RUNS rounds, against one emulator, CPU seconds from getrusage
(medians), each also as a multiple of curl's.

usage: python floors.py URL RUNS DIALECT FAKEGPT FLOOR_REQWEST FLOOR_HYPER FLOOR_RAW FLOOR_LIBRARY [BEFORE]

The clients: curl receiving the answer (logged in beforehand); a bare
reqwest client draining the body (logged in beforehand; the floor of any
client on reqwest and hyper); a bare hyper connection driven in the task
that drains the body (what leaving reqwest for the answer would buy); a
blocking socket with the chunked framing undone by hand (what leaving
hyper would buy); the
fakegpt library alone (logging in, decoding, the text thrown away);
`fakegpt chat` (the whole process); and optionally an older `fakegpt`
binary.
"""

import os
import resource
import statistics
import subprocess
import sys

from floor import conversation, log_in, receive

PROMPT = "Tell me a long story"


def cpu(command: list[str], env: dict[str, str] | None = None) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, capture_output=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cookie_header(jar: str) -> str:
    """The `Cookie` header for a curl cookie jar (Netscape format)."""
    pairs = []
    for line in open(jar, encoding="utf-8"):
        line = line.removeprefix("#HttpOnly_")
        fields = line.rstrip("\n").split("\t")
        if not line.startswith("#") and len(fields) >= 7:
            pairs.append(f"{fields[5]}={fields[6]}")
    return "; ".join(pairs)


def main() -> None:
    url, runs, dialect, fakegpt, floor_reqwest, floor_hyper, floor_raw, floor_library = sys.argv[1:9]
    before = sys.argv[9] if len(sys.argv) > 9 else None
    jar, token = log_in(url)
    body = conversation(PROMPT, dialect)
    env = dict(os.environ, URL=url, TOKEN=token, COOKIE=cookie_header(jar), BODY=body)
    chat = ["chat", "--base-url", url, "--store", "memory", "--dialect", dialect, PROMPT]
    clients = {
        "curl (logged in beforehand)": lambda: receive(url, jar, token, body)[0],
        "reqwest draining the body (logged in beforehand)": lambda: cpu([floor_reqwest], env),
        "hyper in the reading task, draining (logged in)": lambda: cpu([floor_hyper], env),
        "HTTP read by hand, draining (logged in)": lambda: cpu([floor_raw], env),
        "the fakegpt library alone": lambda: cpu([floor_library, url, dialect, PROMPT]),
        "fakegpt chat": lambda: cpu([fakegpt, *chat]),
    }
    if before:
        clients["fakegpt chat, before"] = lambda: cpu([before, *chat])
    seconds: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(int(runs)):
        for name, run in clients.items():
            seconds[name].append(run())
    os.remove(jar)
    floor = statistics.median(seconds["curl (logged in beforehand)"])
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"{name:<50} {median * 1000:8.2f} ms  {median / floor:5.2f}x")


if __name__ == "__main__":
    main()
