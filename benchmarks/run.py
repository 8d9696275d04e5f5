"""Runs each ``benchmarks/bench_*.py`` in turn (``nox -s bench``).

Every script prints its own Markdown table; this runner concatenates them into
``benchmarks/results.md``. Ratios within one run are the claim, never the
absolute figures (the machines are shared and noisy).
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(name in s.name for name in argv)]
    if not scripts:
        print("no benchmark scripts matched")
        return 0
    sections: list[str] = []
    for script in scripts:
        print(f"## {script.stem}", flush=True)
        done = subprocess.run(  # noqa: S603 - our own scripts
            [sys.executable, str(script)], capture_output=True, text=True, check=False
        )
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        if done.returncode != 0:
            print(f"{script.name} failed with exit code {done.returncode}")
            return done.returncode
        sections.append(f"## {script.stem}\n\n{done.stdout.strip()}\n")
    (HERE / "results.md").write_text("# Benchmark results\n\n" + "\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
