"""Runs a command (its output thrown away) and prints the CPU seconds it
spent, user plus system, from getrusage (microseconds, unlike time(1)).

usage: python cpu.py COMMAND [ARGS...]
"""

import resource
import subprocess
import sys


def main() -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"{used:.4f}")


main()
