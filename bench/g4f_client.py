"""gpt4free's own FakeGpt client (g4f 0.5.2.9, unmodified) on one answer from
the emulator at URL; prints the CPU seconds this process spent on it.

usage: python g4f_client.py URL PROMPT
"""

import asyncio
import resource
import sys
import time

from g4f.Provider.deprecated import FakeGpt


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def answer(prompt: str) -> int:
    size = 0
    async for chunk in FakeGpt.create_async_generator(
        model="gpt-3.5-turbo", messages=[{"role": "user", "content": prompt}]
    ):
        size += len(chunk)
    return size


def main() -> None:
    url, prompt = sys.argv[1], sys.argv[2]
    FakeGpt.url = url
    # Log in first, so that only the answer is measured, as for the others.
    asyncio.run(answer("warm up"))
    start, wall = cpu(), time.perf_counter()
    chars = asyncio.run(answer(prompt))
    print(f"{cpu() - start:.4f} {time.perf_counter() - wall:.4f} {chars}")


main()
