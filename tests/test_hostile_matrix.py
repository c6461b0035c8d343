"""Every hostile input in every slot of every command (issue 14, point 8).

A case is (command, slot, input): the command is run as ``explorer ARGV`` with the hostile
input in that slot and ordinary files everywhere else. Each case must print exactly one
line, ``explorer: error: ...`` (exit 1; the parser's usage errors exit 2), with no
traceback and within :data:`tests.hostile_driver.CASE_TIMEOUT_S`; no file in the folder
of inputs may change, appear or vanish (the intended output included: it must not exist
after a failure), and no pickle may run.

Running ``explorer`` once per case would cost minutes of torch imports, so one fresh
process (``tests/hostile_driver.py``) runs the cases of a command group through
``explorer.cli.main`` one after the other, and the groups run side by side; each case is
then checked in its own named test. Outputs are named like ``-out 3 é.npz`` and given as
``--output=...``: a leading dash, a space and a non-ASCII letter, as a user would type.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.hostile_driver import CASE_TIMEOUT_S
from tests.hostile_inputs import (
    DEMO_MODEL,
    DEMO_VIDEO,
    INPUTS,
    MARKER,
    SUFFIXES,
    USAGE_ERRORS,
    build,
)

IS_ROOT = os.geteuid() == 0
"""Root reads every file, so a file without read permission is no test there."""

OUTPUT_INPUTS = ("long-name", "missing-folder", "folder", "fifo", "dangling-symlink")
"""Hostile outputs: the inputs are the demo's, the name given to ``-o`` is the trouble."""

_DEMO = (str(DEMO_VIDEO), str(DEMO_MODEL))


def _output(tag: str, suffix: str) -> str:
    return f"--output=-out {tag} é{suffix}"


# Each command: the slots it reads, and its argv for (slot, value, tag). Settings keep a
# command that wrongly gets past its input short (a few frames, one epoch, two steps).
Argv = Callable[[str, str, str], list[str]]


def _info(_slot: str, value: str, _tag: str) -> list[str]:
    return ["info", value]


def _inputs_with(slot: str, value: str, tag: str, suffix: str) -> tuple[str, str, str]:
    """The demo video, the demo model and a fresh output, with ``value`` in ``slot``."""
    video, model = _DEMO
    output = _output(tag, suffix)
    if slot == "video":
        video = value
    elif slot == "model":
        model = value
    else:
        output = f"--output={value}"
    return video, model, output


def _encode(slot: str, value: str, tag: str) -> list[str]:
    video, model, output = _inputs_with(slot, value, tag, ".npz")
    return ["encode", video, "--model", model, output, "--max-frames", "4", "--device", "cpu",
            "--no-cache"]


def _export_video(slot: str, value: str, tag: str) -> list[str]:
    video, model, output = _inputs_with(slot, value, tag, ".mp4")
    return ["export", "--model", model, "--video", video, "--keyframes", "0,1", "--steps", "2",
            "--device", "cpu", output]


def _export_trajectory(_slot: str, value: str, tag: str) -> list[str]:
    return ["export", "--model", str(DEMO_MODEL), "--trajectory", value, "--keyframes", "0,1",
            "--steps", "2", "--device", "cpu", _output(tag, ".mp4")]


def _export_latents(_slot: str, value: str, tag: str) -> list[str]:
    return ["export", "--model", str(DEMO_MODEL), "--latents", value, "--device", "cpu",
            _output(tag, ".mp4")]


def _train(slot: str, value: str, tag: str) -> list[str]:
    video, output = (value, _output(tag, ".safetensors")) if slot == "video" else \
        (str(DEMO_VIDEO), f"--output={value}")
    return ["train", video, output, "--epochs", "1", "--max-frames", "8", "--batch-size", "8",
            "--device", "cpu"]


def _bench(_slot: str, value: str, _tag: str) -> list[str]:
    return ["bench", "--quick", "--model", value]


def _gui(slot: str, value: str, tag: str) -> list[str]:
    screenshot = f"--screenshot=-shot {tag} é.png"
    if slot == "session":
        return ["--session", value, screenshot]
    video, model = (value, str(DEMO_MODEL)) if slot == "video" else (str(DEMO_VIDEO), value)
    return [video, "--model", model, screenshot]


@dataclass(frozen=True)
class Command:
    argv: Argv
    slots: tuple[str, ...]
    group: str
    """Commands of one group share a driver process; groups run side by side."""


COMMANDS = {
    "info": Command(_info, ("video", "model", "trajectory"), "cli"),
    "encode": Command(_encode, ("video", "model", "output"), "cli"),
    "export--video": Command(_export_video, ("video", "model", "output"), "cli"),
    "export--trajectory": Command(_export_trajectory, ("trajectory",), "cli"),
    "export--latents": Command(_export_latents, ("latents",), "cli"),
    "train": Command(_train, ("video", "output"), "cli"),
    "bench--model": Command(_bench, ("model",), "cli"),
    "gui-video": Command(_gui, ("video",), "gui"),
    "gui--model": Command(_gui, ("model",), "gui"),
    "gui--session": Command(_gui, ("session",), "gui"),
}

WORKS = {("video", "truncated")}
"""Inputs documented to work (docs/bad-inputs.md: "the frames that decode are used, with
a warning"): they must succeed, and write nothing but the intended output."""

def _inputs_for(slot: str) -> list[str]:
    if slot == "output":
        return list(OUTPUT_INPUTS)
    return [name for name, (_builder, slots) in INPUTS.items() if slot in slots]


def _case_ids() -> list[str]:
    return [f"{command}:{slot}:{name}" for command, spec in COMMANDS.items()
            for slot in spec.slots for name in _inputs_for(slot)]


CASES = _case_ids()


OUTPUT_SUFFIXES = {"encode": ".npz", "export--video": ".mp4", "train": ".safetensors"}


def _build_output(name: str, root: Path, command: str) -> str:
    """A hostile ``-o`` value for ``command``, made in ``root``."""
    suffix = OUTPUT_SUFFIXES[command]
    path = root / f"target {command}-{name}{suffix}"
    if name == "long-name":
        return str(path.with_name("o" * (300 - len(suffix)) + suffix))
    if name == "missing-folder":
        return str(root / "no such folder" / path.name)
    if name == "folder":  # holding a file of the user's, so no command may write into it
        path.mkdir()
        (path / "notes.txt").write_text("mine\n")
    elif name == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(path.with_name(f"gone {path.name}"))
    return str(path)


def _params() -> list:
    params = []
    for case in CASES:
        case_marks = []
        if case.endswith(":unreadable") and IS_ROOT:
            case_marks = [pytest.mark.skip(reason="root reads files without read permission")]
        params.append(pytest.param(case, id=case, marks=case_marks))
    return params


def _plan(group: str, root: Path) -> list[dict]:
    """The cases of ``group``, with their inputs built in ``root``: each case's id, argv,
    hostile input and the names its intended outputs start with."""
    built: dict[tuple[str, str], str] = {}
    cases = []
    for index, case in enumerate(CASES):
        command, slot, name = case.split(":")
        if COMMANDS[command].group != group or (name == "unreadable" and IS_ROOT):
            continue
        key = (command, name) if slot == "output" else (slot, name)
        if key not in built:
            built[key] = _build_output(name, root, command) if slot == "output" \
                else build(name, root, slot, f"{slot}-{name}")
        argv = COMMANDS[command].argv(slot, built[key], str(index))
        cases.append({"id": case, "argv": argv, "input": built[key],
                      "intended": [f"-out {index} é", f"-shot {index} é"]})
    return cases


def _run_groups(work: Path) -> dict[str, dict]:
    """Run every group's cases in its own driver and folder, side by side; the results
    by case id, each with its ``intended`` output names.

    A driver that dies or hangs on a case (it is killed once every case could have taken
    :data:`CASE_TIMEOUT_S`) leaves that case recorded as such, and a new driver goes on
    with the cases after it. Each group has its own folder, so that one group's files
    are not changes seen by the other.
    """
    groups = {}
    for group in {spec.group for spec in COMMANDS.values()}:
        (work / group).mkdir()
        groups[group] = (work / group, _plan(group, work / group))
    planned = [case for _root, cases in groups.values() for case in cases]
    results: dict[str, dict] = {}
    while groups:
        running = {}
        for group, (root, cases) in groups.items():
            plan = work / f"{group}.json"
            plan.write_text(json.dumps(cases))
            running[group] = subprocess.Popen(
                [sys.executable, "-m", "tests.hostile_driver", str(plan),
                 str(work / f"{group}.jsonl"), str(root)],
                cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
            )
        deadline = time.monotonic() + CASE_TIMEOUT_S * (1 + max(
            len(cases) for _root, cases in groups.values()))
        pending = {}
        for group, process in running.items():
            try:
                output, _ = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                output, _ = process.communicate()
            for line in (work / f"{group}.jsonl").read_text().splitlines():
                result = json.loads(line)
                results[result["id"]] = result
            root, cases = groups[group]
            rest = [case for case in cases if case["id"] not in results]
            if rest:  # the driver died on rest[0]: record it, go on without it
                results[rest[0]["id"]] = {"code": None, "died": True, "stdout": "",
                                          "stderr": output.decode("utf-8", "replace")[-4000:],
                                          "changes": []}
                if rest[1:]:
                    pending[group] = (root, rest[1:])
        groups = pending
    for case in planned:
        results[case["id"]].update(input=case["input"], intended=case["intended"])
    return results


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict]:
    return _run_groups(tmp_path_factory.mktemp("hostile"))


_ERROR_LINE = re.compile(r"explorer: error: \S")
_USAGE_LINE = re.compile(r"explorer( \w+)?: error: \S")


@pytest.mark.parametrize("case", _params())
def test_hostile_input_is_one_line_and_changes_nothing(results, case):
    result = results[case]
    slot, name = case.split(":")[1:]
    report = json.dumps(result, indent=1, ensure_ascii=False)
    assert not result.get("hang"), f"hung for {CASE_TIMEOUT_S} s: {report}"
    assert not result.get("died"), f"the process died: {report}"
    assert "raised" not in result, result.get("raised")
    assert "Traceback" not in result["stderr"] + result["stdout"], report
    assert not any(MARKER in change for change in result["changes"]), f"a pickle ran: {report}"
    lines = result["stderr"].strip().splitlines()
    if (slot, name) in WORKS:
        assert result["code"] == 0, report
        made = [change.removeprefix("appeared: ") for change in result["changes"]]
        assert all(path.startswith(tuple(result["intended"])) for path in made), report
        return
    if name in USAGE_ERRORS:
        assert result["code"] == 2, report
        assert [line for line in lines if "error:" in line] == lines[-1:], report
        assert _USAGE_LINE.match(lines[-1]), report
    else:
        assert result["code"] == 1, report
        assert len(lines) == 1 and _ERROR_LINE.match(lines[0]), report
        assert "unexpected error" not in lines[0], report
        assert Path(result["input"]).name[:24] in lines[0], f"the error names the input: {report}"
    assert result["changes"] == [], report


def test_no_case_ran_code_hung_or_crashed(results):
    """What no case may do, expected failures included: run a pickle, hang, die, raise."""
    for case, result in results.items():
        assert not any(MARKER in change for change in result["changes"]), case
        assert not ({"hang", "died", "raised"} & result.keys()), (case, result)


def test_a_fifo_in_a_model_folder_is_not_read(tmp_path):
    """A model folder's identity (the cache key of everything encoded with it) reads its
    JSON and safetensors files: a FIFO among them must be passed over, not waited on."""
    from explorer.model.identity import model_identity

    (tmp_path / "config.json").write_text("{}")
    os.mkfifo(tmp_path / "notes.json")
    os.mkfifo(tmp_path / "extra.safetensors")
    identity: list[str | None] = []
    reader = threading.Thread(target=lambda: identity.append(model_identity(tmp_path)),
                              daemon=True)  # a daemon: a hang must not keep pytest alive
    reader.start()
    reader.join(timeout=CASE_TIMEOUT_S)
    assert identity and identity[0], "model_identity hung on a FIFO"


def test_the_matrix_covers_every_slot_and_input():
    """Each command reads each of its slots, and every input is used in every slot it fits."""
    slots = {slot for spec in COMMANDS.values() for slot in spec.slots}
    assert slots == {*SUFFIXES, "output"}
    for name, (_builder, fits) in INPUTS.items():
        for slot in fits:
            assert any(case.endswith(f":{slot}:{name}") for case in CASES), (slot, name)
