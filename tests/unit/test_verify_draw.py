"""The verification command anyone can run on a published draw: it recomputes the order and the
winners from the revealed seed when the seed matches the commitment, says so when it does not, and
refuses input it cannot use with a one-line message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.drops.draw_rules import commitment, draw

ROOT = Path(__file__).resolve().parents[2]
# The worked example of docs/DRAWS.md.
SEED = "1e9b81288f4665e90fbe54b748f8f90a3e442e3f8b759269283f7e61f9da3dc1"
COMMITMENT = "7bd127f41e498f58c66530ebdbfd48e1cb1a1d0ec68ab8f5c18af94167762a3a"
ENTRIES = [101, 102, 103, 104, 105]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.drops.verify_draw", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def entries_file(tmp_path: Path) -> Path:
    path = tmp_path / "entries.txt"
    path.write_text("".join(f"{entry}\n" for entry in ENTRIES))
    return path


def test_the_worked_example_is_recomputed_from_a_file_of_ids(entries_file: Path) -> None:
    assert commitment(SEED) == COMMITMENT
    done = run("--seed", SEED, "--commitment", COMMITMENT, "--units", "2", str(entries_file))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "commitment_ok": True,
        "order": [105, 103, 101, 104, 102],
        "winners": [105, 103],
    }
    assert done.stderr == ""


def test_a_json_list_gives_the_same_draw(tmp_path: Path) -> None:
    ids = list(range(500, 540))
    path = tmp_path / "entries.json"
    path.write_text(json.dumps(list(reversed(ids))))
    done = run("--seed", SEED, "--commitment", COMMITMENT, "--units", "7", str(path))
    assert done.returncode == 0, done.stderr
    expected = draw(SEED, ids, 7)
    assert json.loads(done.stdout) == {
        "commitment_ok": True,
        "order": list(expected.order),
        "winners": list(expected.winners),
    }


@pytest.mark.parametrize(
    "text", ["103\n101\n105\n102\n104\n", "  103 \n\n101\r\n105\n102\n104", "[103, 101, 105, 102, 104]"]
)
def test_the_ids_can_come_on_stdin(text: str) -> None:
    done = run("--seed", SEED, "--commitment", COMMITMENT, "--units", "3", "-", stdin=text)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "commitment_ok": True,
        "order": [105, 103, 101, 104, 102],
        "winners": [105, 103, 101],
    }


@pytest.mark.parametrize("published", [commitment(SEED + "0"), COMMITMENT[:-1] + "b", "not a hash"])
def test_a_seed_that_does_not_match_the_commitment_is_reported(entries_file: Path, published: str) -> None:
    done = run("--seed", SEED, "--commitment", published, "--units", "2", str(entries_file))
    assert done.returncode == 1
    assert json.loads(done.stdout) == {"commitment_ok": False}


def test_another_seed_does_not_match_the_commitment(entries_file: Path) -> None:
    done = run("--seed", SEED[::-1], "--commitment", COMMITMENT, "--units", "2", str(entries_file))
    assert done.returncode == 1
    assert json.loads(done.stdout) == {"commitment_ok": False}


@pytest.mark.parametrize(
    "text", ["101\nabc\n", "101\n1.5\n", "101\n101\n", "[101, 101]", "[101, true]", '["101"]', "[101,", "+7\n"]
)
def test_entries_it_cannot_use_exit_2_with_one_line(text: str) -> None:
    done = run("--seed", SEED, "--commitment", COMMITMENT, "--units", "2", "-", stdin=text)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("verify_draw: ") and done.stderr.count("\n") == 1


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    done = run("--seed", SEED, "--commitment", COMMITMENT, "--units", "2", str(tmp_path / "nowhere.txt"))
    assert done.returncode == 2
    assert "cannot read the entries" in done.stderr and done.stderr.count("\n") == 1


def test_a_seed_that_is_not_ascii_exits_2(entries_file: Path) -> None:
    done = run("--seed", "séed", "--commitment", COMMITMENT, "--units", "2", str(entries_file))
    assert done.returncode == 2
    assert "ASCII" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--seed", SEED, "--commitment", COMMITMENT, "--units", "-1", "-"],
        ["--seed", SEED, "--commitment", COMMITMENT, "--units", "two", "-"],
        ["--commitment", COMMITMENT, "--units", "2", "-"],
        ["--seed", SEED, "--commitment", COMMITMENT, "--units", "2"],
    ],
)
def test_bad_arguments_exit_2(args: list[str]) -> None:
    done = run(*args, stdin="101\n")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "error" in done.stderr
