"""Run ``explorer.cli.main`` on many argument lists in one fresh process.

``python -m tests.hostile_driver CASES.json RESULTS.jsonl ROOT`` runs each case's
``argv`` with ``ROOT`` as the working directory, the way ``explorer ARGV`` would run from
a shell there, and appends one JSON line per case to ``RESULTS.jsonl`` as soon as it ends
(so a case that hangs or kills the process is known: it is the first without a line).

Each line records the exit code (``SystemExit``), what reached file descriptors 1 and 2
(also what C libraries print), the traceback of any other exception that escaped
``main``, and every change under ``ROOT``: a file that appeared, vanished, or whose type,
permissions, size, times or SHA-256 changed. Symbolic links, FIFOs and devices are looked
at with ``lstat`` only: nothing here follows or opens them.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from explorer.fileio import sha256_file

CASE_TIMEOUT_S = 60
"""A case that runs longer hangs: every hostile input must be refused within seconds."""

Snapshot = dict[str, tuple]


class Hang(Exception):
    """The case ran past :data:`CASE_TIMEOUT_S`."""


def snapshot(root: Path, digests: dict[tuple, str]) -> Snapshot:
    """Every entry under ``root``: its lstat facts and, for regular files, their SHA-256.

    ``digests`` remembers hashes by path and lstat facts, so unchanged files are hashed
    once (a write always changes the inode's ctime, which is part of the key).
    """
    entries: Snapshot = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            facts = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), info.st_size,
                     info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
            key = (path, *facts)
            if stat.S_ISREG(info.st_mode) and key not in digests:
                digests[key] = _sha256(path)
            if stat.S_ISLNK(info.st_mode):
                facts += (os.readlink(path),)
            entries[os.path.relpath(path, root)] = (*facts, digests.get(key))
    return entries


def _sha256(path: str) -> str:
    try:
        return sha256_file(path)
    except PermissionError:
        return "unreadable"


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs between two snapshots, one line per path."""
    lines = [f"appeared: {path}" for path in sorted(after.keys() - before.keys())]
    lines += [f"vanished: {path}" for path in sorted(before.keys() - after.keys())]
    lines += [f"changed: {path}" for path in sorted(before.keys() & after.keys())
              if before[path] != after[path]]
    return lines


def captured(call: Callable[[], object]) -> tuple[object, str, str]:
    """``call()``'s result with file descriptors 1 and 2 sent to temporary files."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            result = call()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        texts = []
        for handle in (out, err):
            handle.seek(0)
            texts.append(handle.read().decode("utf-8", "replace"))
    return result, texts[0], texts[1]


def run_case(argv: list[str]) -> dict[str, object]:
    """Run ``explorer ARGV``; its exit code, or the traceback that escaped it."""
    from explorer.cli import main

    def call() -> dict[str, object]:
        signal.alarm(CASE_TIMEOUT_S)
        try:
            main(argv)
        except SystemExit as exc:
            return {"code": exc.code if isinstance(exc.code, int) else 1}
        except Hang:
            return {"code": None, "hang": True}
        except BaseException:  # anything else escaping main is the failure recorded
            return {"code": None, "raised": traceback.format_exc()}
        finally:
            signal.alarm(0)
        return {"code": 0}

    result, stdout, stderr = captured(call)
    assert isinstance(result, dict)
    return {**result, "stdout": stdout, "stderr": stderr}


def _on_alarm(_signum: int, _frame: object) -> None:
    raise Hang


def main() -> None:
    cases_file, results_file, root = sys.argv[1:]
    root_path = Path(root)
    cases = json.loads(Path(cases_file).read_text())
    signal.signal(signal.SIGALRM, _on_alarm)
    os.chdir(root_path)
    digests: dict[tuple, str] = {}
    with open(results_file, "a", encoding="utf-8") as results:
        for case in cases:
            before = snapshot(root_path, digests)
            started = time.monotonic()
            outcome = run_case(case["argv"])
            outcome["seconds"] = round(time.monotonic() - started, 2)
            outcome["changes"] = changes(before, snapshot(root_path, digests))
            results.write(json.dumps({"id": case["id"], **outcome}) + "\n")
            results.flush()


if __name__ == "__main__":
    main()
