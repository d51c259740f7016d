"""Bad input that used to be accepted or end in a traceback (:mod:`sim.scenario.reading`, the schema, origins).

Each test reproduces one failure class of the issue "Nothing lost, nothing
silently wrong": non-finite numbers, duplicate keys, files that are not
UTF-8 text, folders, empty and too deeply nested files, and values inherited
from an ``extends`` parent reported against the child.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import sim
from sim.errors import ScenarioError
from sim.experiments.design import read_sweep_file
from sim.scenario.loader import read_yaml, with_overrides
from sim.scenario.paths import parse_value
from sim.scenario.reading import MAX_DEPTH

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """
name: small
seed: 3
time: {steps: 2}
replications: 1
population: {size: 200}
network: {kind: erdos_renyi, mean_degree: 4}
products: {payments: {kind: payments}}
banks:
  alpha: {type: state, offers: {payments: {price: 1.0}}, trust: 0.5}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def refusal(path, overrides=None) -> str:
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(path, overrides=overrides)
    return str(info.value)


# ------------------------------------------------------------------ non-finite numbers
@pytest.mark.parametrize("key, text", [
    ("banks.alpha.offers.payments.price", ".nan"),
    ("banks.alpha.trust", ".inf"),
    ("choice.price", "-.inf"),
    ("population.life_stages.student", ".nan"),
    ("population.city_tiers", "[.nan, 0.25, 0.25, 0.25]"),
])
def test_nan_and_infinity_in_the_file_are_refused(tmp_path, key, text):
    data = yaml.safe_load(SCENARIO)
    node = data
    *head, last = key.split(".")
    for part in head:
        node = node.setdefault(part, {})
    node[last] = yaml.safe_load(text)
    path = tmp_path / "inf.yaml"
    path.write_text(yaml.safe_dump(data))
    message = refusal(path)
    assert "inf.yaml" in message and key in message and "finite" in message, message


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", ".nan", ".inf", "NaN", "Infinity"])
def test_nan_and_infinity_through_set_are_refused_with_the_key(tmp_path, value):
    path = write(tmp_path, "base.yaml", SCENARIO)
    message = refusal(path, {"banks.alpha.trust": value})
    assert "base.yaml (--set)" in message and "banks.alpha.trust" in message, message


def test_nan_through_with_overrides_is_refused(tmp_path):
    scenario = sim.load_scenario(write(tmp_path, "base.yaml", SCENARIO))
    with pytest.raises(ScenarioError, match="banks.alpha.offers.payments.price.*finite"):
        with_overrides(scenario, {"banks.alpha.offers.payments.price": float("nan")}, source="design.yaml")


# ------------------------------------------------------------------ duplicate keys
def test_duplicate_key_names_both_lines(tmp_path):
    path = write(tmp_path, "dup.yaml", SCENARIO + "seed: 4\n")
    message = refusal(path)
    assert "duplicate key 'seed'" in message and "first at dup.yaml:2, again at dup.yaml:10" in message, message


def test_duplicate_nested_key_is_refused_but_merge_keys_are_not(tmp_path):
    nested = write(tmp_path, "nested.yaml", SCENARIO.replace("trust: 0.5}", "trust: 0.1, trust: 0.2}"))
    assert "duplicate key 'trust'" in refusal(nested)
    merged = write(tmp_path, "merge.yaml", """
        name: merge
        base: &defaults {kind: erdos_renyi, mean_degree: 4}
        """)
    with pytest.raises(ScenarioError, match="unknown key 'base'"):   # read fine, refused by the schema only
        sim.load_scenario(merged)
    data = read_yaml(write(tmp_path, "anchors.yaml", "a: &x {k: 1, j: 2}\nb: {<<: *x, k: 3}\n"))
    assert data["b"] == {"k": 3, "j": 2}


def test_duplicate_key_in_a_set_value(tmp_path):
    path = write(tmp_path, "base.yaml", SCENARIO)
    message = refusal(path, {"banks.alpha.offers": "{payments: {}, payments: {price: 2}}"})
    assert "banks.alpha.offers" in message and "duplicate key 'payments'" in message, message


# ------------------------------------------------------------------ files that are not scenario text
@pytest.mark.parametrize("name, content, fragment", [
    ("binary.yaml", bytes(range(256)), "binary"),
    ("latin1.yaml", "name: caf\xe9\n".encode("latin-1"), "not UTF-8"),
    ("utf16.yaml", SCENARIO.encode("utf-16"), "UTF-16"),
    ("empty.yaml", b"", "empty"),
    ("comments.yaml", b"# nothing here\n\n", "empty"),
])
def test_files_that_are_not_utf8_text_or_are_empty(tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    message = refusal(path)
    assert name in message and fragment in message, message


def test_utf8_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + textwrap.dedent(SCENARIO).encode())
    assert sim.load_scenario(path).name == "small"


def test_a_folder_given_as_the_file(tmp_path):
    (tmp_path / "folder.yaml").mkdir()
    message = refusal(tmp_path / "folder.yaml")
    assert "folder.yaml" in message and "is a folder" in message


# ------------------------------------------------------------------ files that are not regular files
class _Writer:
    """Opens a FIFO for writing as soon as a reader has it open, then closes it: a blocked reader sees its end."""

    def __init__(self, fifo: Path):
        import threading

        self.fifo, self.stop = fifo, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.05):
            try:
                os.close(os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                continue   # no reader yet

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self.thread.join()


needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")


@needs_fifo
def test_a_fifo_is_refused_without_being_read(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with _Writer(fifo):   # were the FIFO read, the read would end (empty) instead of hanging the test
        message = refusal(fifo)
    assert "pipe.yaml: is not a regular file: it is a named pipe" in message, message


@needs_fifo
def test_a_fifo_or_a_device_as_the_parent_is_refused_naming_the_extends_key(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    child = write(tmp_path, "child.yaml", "name: child\nextends: pipe.yaml\n")
    with _Writer(fifo):
        message = refusal(child)
    assert "child.yaml: extends: 'pipe.yaml' is not a regular file" in message, message


@pytest.mark.skipif(not Path("/dev/zero").exists() or sys.platform == "win32", reason="needs /dev/zero")
@pytest.mark.parametrize("extends", [True, False])
def test_dev_zero_is_refused_not_read_until_memory_runs_out(tmp_path, extends):
    # In a child process whose address space is capped at 2 GB: reading /dev/zero there ends in a MemoryError.
    target = tmp_path / "child.yaml" if extends else Path("/dev/zero")
    write(tmp_path, "child.yaml", "name: child\nextends: /dev/zero\n")
    cap = "import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
    code = cap + f"import sys; from sim.cli import main; sys.exit(main(['run', {str(target)!r}, '-q', '--no-plots', " \
                 f"'--out', {str(tmp_path / 'out')!r}]))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "is not a regular file" in done.stderr, done.stderr
    assert ("child.yaml: extends: '/dev/zero'" if extends else "/dev/zero:") in done.stderr, done.stderr


def test_a_file_larger_than_the_cap_is_refused(tmp_path, monkeypatch):
    import sim.inputs

    path = write(tmp_path, "big.yaml", SCENARIO)
    monkeypatch.setattr(sim.inputs, "MAX_BYTES", 64)
    message = refusal(path)
    assert "big.yaml: is too large" in message and "at most 64 bytes" in message, message
    monkeypatch.setattr(sim.inputs, "MAX_BYTES", len(path.read_bytes()))
    assert sim.load_scenario(path).name == "small"   # exactly at the cap is read


@pytest.mark.parametrize("deep", [
    "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "a: " + "{b: " * 5000 + "1" + "}" * 5000 + "\n",
    "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5) + "v: 1\n",
])
def test_too_deeply_nested_yaml(tmp_path, deep):
    path = tmp_path / "deep.yaml"
    path.write_text(deep)
    message = refusal(path)
    assert "deep.yaml" in message and f"deeper than {MAX_DEPTH}" in message, message
    with pytest.raises(ScenarioError, match="deeper"):
        parse_value("[" * 5000 + "]" * 5000)


def test_nesting_up_to_the_limit_is_read(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    node = read_yaml(path)["a"]
    for _ in range(MAX_DEPTH - 2):
        node = node[0]
    assert node == []


def test_design_files_get_the_same_checks(tmp_path):
    design = tmp_path / "design.yaml"
    design.write_bytes("scenario: x.yaml\n".encode("utf-16"))
    with pytest.raises(ScenarioError, match="UTF-16"):
        read_sweep_file(design)
    design.write_text("scenario: x.yaml\nscenario: y.yaml\n")
    with pytest.raises(ScenarioError, match="duplicate key 'scenario'"):
        read_sweep_file(design)


# ------------------------------------------------------------------ values inherited from a parent
PARENT = SCENARIO.replace("trust: 0.5", "trust: -5")


def test_an_inherited_bad_value_names_the_parent(tmp_path):
    write(tmp_path, "parent.yaml", PARENT)
    child = write(tmp_path, "child.yaml", "extends: parent.yaml\nname: child\ntime: {steps: 3}\n")
    message = refusal(child)
    assert message.startswith(f"{tmp_path / 'parent.yaml'} (extended by child.yaml): banks.alpha.trust"), message


def test_a_bad_value_in_the_child_names_the_child(tmp_path):
    write(tmp_path, "parent.yaml", SCENARIO)
    child = write(tmp_path, "child.yaml", "extends: parent.yaml\nname: child\nbanks: {alpha: {trust: 2}}\n")
    message = refusal(child)
    assert message.startswith(f"{child}: banks.alpha.trust"), message


def test_problems_from_parent_and_child_are_each_named(tmp_path):
    write(tmp_path, "parent.yaml", PARENT)
    child = write(tmp_path, "child.yaml", "extends: parent.yaml\nname: child\nfunnel: {interest: 3}\n")
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(child)
    sources = {p.path: p.source for p in info.value.problems}
    assert "parent.yaml" in sources["banks.alpha.trust"] and sources["funnel.interest"] is None
    assert str(info.value).startswith(str(child))


def test_a_block_replaced_by_another_kind_is_the_childs(tmp_path):
    write(tmp_path, "parent.yaml", SCENARIO)
    child = write(tmp_path, "child.yaml",
                  "extends: parent.yaml\nname: child\nnetwork: {kind: watts_strogatz, mean_degree: 3}\n")
    message = refusal(child)
    assert message.startswith(f"{child}: network"), message


def test_a_bad_set_value_names_the_set_option(tmp_path):
    write(tmp_path, "parent.yaml", SCENARIO)
    child = write(tmp_path, "child.yaml", "extends: parent.yaml\nname: child\n")
    message = refusal(child, {"banks.alpha.trust": "2"})
    assert message.startswith(f"{child} (--set): banks.alpha.trust"), message


def test_an_event_in_the_parent_names_the_parent(tmp_path):
    write(tmp_path, "parent.yaml", SCENARIO + "events: [{at: 1, set: {banks.alpha.trust: 5}}]\n")
    child = write(tmp_path, "child.yaml", "extends: parent.yaml\nname: child\n")
    message = refusal(child)
    assert "parent.yaml (extended by child.yaml)" in message and "banks.alpha.trust" in message, message


# ------------------------------------------------------------------ the command line: exit 2, no traceback
@pytest.mark.slow  # a python -m sim subprocess per case, about 5 s each
@pytest.mark.parametrize("name, content, fragment", [
    ("nan.yaml", SCENARIO.replace("price: 1.0", "price: .nan").encode(), "finite"),
    ("dup.yaml", (SCENARIO + "seed: 4\n").encode(), "duplicate key"),
])
def test_the_command_line_refuses_with_exit_2_and_no_traceback(tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "sim", "run", str(path), "-q", "--no-plots",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    assert name in proc.stderr and fragment in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ yes/no values where numbers are wanted
@pytest.mark.parametrize("key, value", [("banks.alpha.trust", "yes"), ("seed", "true"), ("time.steps", "true"),
                                        ("population.trust_spread", "no")])
def test_a_yes_no_value_is_not_a_number(tmp_path, key, value):
    message = refusal(write(tmp_path, "base.yaml", SCENARIO), {key: value})
    assert key in message and "yes/no value, not a number" in message, message


def test_numbers_and_integers_out_of_the_int64_range(tmp_path):
    message = refusal(write(tmp_path, "base.yaml", SCENARIO), {"banks.alpha.referral.window": str(10**30)})
    assert "banks.alpha.referral.window" in message and "less than or equal to" in message, message
