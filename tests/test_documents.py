"""Documents edited without damage (issue 23): a generated block is replaced in place in the file the
user named (line endings, mode, symbolic and hard links kept); a document that cannot be written is
refused at once, before any run; markers cannot be injected; a table of only missing values is
refused; no temporary copy is left behind."""

import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from simulation.errors import ConfigError
from simulation.experiments.store import GeneratedBlock
from helpers import command, one_line

BLOCK = GeneratedBlock("demo-table")


def document(path, newline="\n", old="old"):
    path.write_bytes(newline.join(["# Title", BLOCK.begin, old, BLOCK.end, "after", ""]).encode("utf-8"))
    return path


@pytest.fixture
def alarm():
    """A check that blocks fails the test instead of hanging it."""
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("blocked"))
    signal.alarm(10)
    yield
    signal.alarm(0)


def test_crlf_line_endings_are_kept(tmp_path):
    doc = document(tmp_path / "doc.md", "\r\n")
    BLOCK.write(doc, "\nnew\nlines\n")
    assert doc.read_bytes() == (b"# Title\r\n" + BLOCK.begin.encode() + b"\r\nnew\r\nlines\r\n" + BLOCK.end.encode()
                                + b"\r\nafter\r\n")


def test_the_mode_is_kept(tmp_path):
    doc = document(tmp_path / "doc.md")
    doc.chmod(0o600)
    BLOCK.write(doc, "\nnew\n")
    assert stat.S_IMODE(doc.stat().st_mode) == 0o600
    assert "new" in doc.read_text(encoding="utf-8")


def test_a_linked_document_edits_the_links_target(tmp_path):
    target = document(tmp_path / "real.md")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    BLOCK.write(link, "\nnew\n")
    assert link.is_symlink() and BLOCK.read(target) == "\nnew\n"


def test_a_hard_link_stays_one_file(tmp_path):
    doc = document(tmp_path / "doc.md")
    other = tmp_path / "other.md"
    os.link(doc, other)
    BLOCK.write(doc, "\nnew\n")
    assert doc.stat().st_ino == other.stat().st_ino and BLOCK.read(other) == "\nnew\n"


def test_a_fifo_is_refused_at_once(tmp_path, alarm):
    fifo = tmp_path / "doc.md"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        BLOCK.check(fifo)


def test_a_link_to_a_fifo_is_refused_at_once(tmp_path, alarm):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "doc.md").symlink_to(tmp_path / "fifo")
    with pytest.raises(ConfigError, match="not a regular file"):
        BLOCK.check(tmp_path / "doc.md")


def test_a_special_file_is_refused(alarm):
    with pytest.raises(ConfigError, match="not a regular file"):
        BLOCK.check("/dev/null")


def test_a_read_only_folder_or_file_is_refused_before_writing(tmp_path, monkeypatch):
    if os.geteuid() == 0:  # root may write anything (CI runs as root): ask the mode bits, as for a user
        monkeypatch.setattr(os, "access", lambda path, mode: not mode & os.W_OK
                            or bool(os.stat(path).st_mode & stat.S_IWUSR))
    (tmp_path / "folder").mkdir()
    doc = document(tmp_path / "folder" / "doc.md")
    doc.chmod(0o444)
    with pytest.raises(ConfigError, match="cannot write"):
        BLOCK.check(doc)
    doc.chmod(0o644)
    doc.parent.chmod(0o555)
    try:
        with pytest.raises(ConfigError, match="cannot write"):
            BLOCK.check(doc)
    finally:
        doc.parent.chmod(0o755)


def test_the_command_refuses_a_fifo_document_before_any_run(root, tmp_path, capsys, alarm):
    os.mkfifo(tmp_path / "doc.md")
    started = time.monotonic()
    proc = command(capsys, "effects", "--seeds", "1", "--doc", str(tmp_path / "doc.md"), cwd=root)
    one_line(proc, 2, "doc.md", "not a regular file")
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("injected", [BLOCK.end, BLOCK.begin, "<!-- other -->", "a --> b"])
def test_markers_cannot_be_injected_through_content(tmp_path, injected):
    doc = document(tmp_path / "doc.md")
    BLOCK.write(doc, f"\n| name {injected} | 1.0 |\n")
    text = doc.read_text(encoding="utf-8")
    assert text.count(BLOCK.begin) == 1 and text.count(BLOCK.end) == 1
    assert "<!--" not in BLOCK.read(doc) and "-->" not in BLOCK.read(doc)
    BLOCK.write(doc, "\nsecond\n")  # the next write still finds one block
    assert doc.read_text(encoding="utf-8").count("second") == 1


@pytest.mark.parametrize("cell", ["nan [nan, nan]", "n/a", "nan"])
def test_a_table_of_only_missing_values_is_refused_and_the_document_kept(tmp_path, cell):
    doc = document(tmp_path / "doc.md")
    before = doc.read_bytes()
    table = (f"\n| scenario | indicator | effect |\n|---|---|---|\n| security | volume | {cell} |\n"
             f"| cognition | trust | {cell} |\n")
    with pytest.raises(ConfigError, match="only missing values"):
        BLOCK.write(doc, table)
    assert doc.read_bytes() == before


def test_a_table_with_some_values_is_written(tmp_path):
    doc = document(tmp_path / "doc.md")
    BLOCK.write(doc, "\n| scenario | effect |\n|---|---|\n| security | nan |\n| cognition | 0.3 [0.1, 0.5] |\n")
    assert "0.3" in BLOCK.read(doc)


def test_stale_temporary_copies_are_removed_by_the_next_write(tmp_path):
    doc = document(tmp_path / "doc.md")
    stale = [tmp_path / ".doc.md.k1llEd.tmp", tmp_path / ".doc.md.x9.tmp"]
    for path in stale:
        path.write_text("left by a kill -9", encoding="utf-8")
    users = tmp_path / ".doc.md.keep"  # not of the simulator's pattern
    users.write_text("mine", encoding="utf-8")
    BLOCK.write(doc, "\nnew\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".doc.md.keep", "doc.md"]


@pytest.mark.slow
@pytest.mark.e2e  # a writer killed by signal 9: another process
def test_kill_9_during_writes_leaves_no_temporary_copy_after_the_next_write(tmp_path):
    doc = document(tmp_path / "doc.md")
    code = ("import sys; from pathlib import Path; from simulation.experiments.store import GeneratedBlock\n"
            "block = GeneratedBlock('demo-table')\n"
            "while True: block.write(Path(sys.argv[1]), '\\n' + 'x' * 2_000_000 + '\\n')\n")
    for _ in range(5):
        writer = subprocess.Popen([sys.executable, "-c", code, str(doc)])
        time.sleep(1.5)
        writer.kill()
        writer.wait()
    BLOCK.write(doc, "\nlast\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.md"]
    assert BLOCK.read(doc) == "\nlast\n"


@pytest.mark.filterwarnings("ignore:One or more sample arguments is too small")  # scipy: one name, nothing to compare
def test_effects_whose_table_is_all_missing_leaves_the_document_alone(root, tmp_path, capsys):
    """``effects --set name=x`` gives every scenario one name: nothing to compare, so nothing written."""
    doc = tmp_path / "doc.md"
    doc.write_text("# d\n<!-- effect-table:begin -->\nold\n<!-- effect-table:end -->\n", encoding="utf-8")
    proc = command(capsys, "effects", "--seeds", "2", "--set", "name=x", "--set", "steps=3", "--set",
                   "population.public=60", "--doc", str(doc), cwd=root)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(
        f"error: {doc}: not updated: the effect-table holds only missing values")
    assert GeneratedBlock("effect-table").read(doc) == "\nold\n"
