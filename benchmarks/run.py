"""Runs every ``benchmarks/bench_*.py`` (``nox -s bench``) and writes ``results.md``.

Each script prints its own detailed table and ``SUMMARY|`` rows; this runner
puts the summary rows in one table at the top of ``benchmarks/results.md`` (and
stdout), followed by every detailed table. Ratios measured side by side in one
run are the claim, never the absolute figures: the machines are shared and noisy.
"""

from __future__ import annotations

import os
import pathlib
import platform
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ORDER = [
    "enumerate",
    "bulk",
    "decode",
    "overhead",
    "memory",
    "scaling",
    "limit",
    "emulator",
    "redis",
    "real",
]


def main(argv: list[str]) -> int:
    def rank(path: pathlib.Path) -> int:
        name = path.stem.removeprefix("bench_")
        return ORDER.index(name) if name in ORDER else len(ORDER)

    quick = "--quick" in argv
    argv = [a for a in argv if a != "--quick"]
    scripts = sorted(HERE.glob("bench_*.py"), key=rank)
    if argv:
        scripts = [s for s in scripts if any(name in s.name for name in argv)]
    summaries: list[str] = []
    sections: list[str] = []
    started = time.monotonic()
    for script in scripts:
        print(f"## {script.stem}", flush=True)
        done = subprocess.run(  # noqa: S603 - our own scripts
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            check=False,
            cwd=HERE,
            env={**os.environ, "PYTHONPATH": str(HERE), "BENCH_QUICK": "1" if quick else "0"},
        )
        body = [line for line in done.stdout.splitlines() if not line.startswith("SUMMARY|")]
        summaries += [
            line[len("SUMMARY") :]
            for line in done.stdout.splitlines()
            if line.startswith("SUMMARY|")
        ]
        print("\n".join(body), flush=True)
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            print(f"{script.name} failed with exit code {done.returncode}")
            return done.returncode
        sections.append(f"## {script.stem}\n\n" + "\n".join(body).strip() + "\n")
    header = (
        "| benchmark | ours | comparison (same run) | ratio | goal | goal met? |\n"
        "|---|---|---|---|---|---|"
    )
    table = header + "\n" + "\n".join(summaries)
    print("\n# Summary\n\n" + table)
    machine = (
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    took = time.monotonic() - started
    command = "nox -s bench -- --quick" if quick else "nox -s bench"
    print(f"\n{command}: {took / 60:.1f} minutes")
    if quick or argv:
        return 0  # results.md holds full runs of every benchmark only
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    (HERE / "results.md").write_text(
        "# Benchmark results\n\n"
        f"`{command}` on {machine}, a machine shared with other sessions (load average "
        f"{load:.1f} when the run ended); {took / 60:.1f} minutes. Ratios are measured side "
        "by side in one run; absolute figures depend on a shared, noisy machine.\n\n"
        + table
        + "\n\n"
        + "\n".join(sections)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
