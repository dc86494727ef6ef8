"""The tables commands write into documents: only between their markers, and a clear error first."""

import pytest

from simulation.errors import ConfigError
from simulation.experiments.store import GeneratedBlock


def test_write_replaces_only_the_block_and_read_returns_it(tmp_path):
    doc = tmp_path / "doc.md"
    block = GeneratedBlock("demo-table")
    doc.write_text(f"# Title\nwords\n{block.begin}\nold\n{block.end}\nmore words\n", encoding="utf-8")
    block.write(doc, "\nnew table\n")
    assert doc.read_text(encoding="utf-8") == f"# Title\nwords\n{block.begin}\nnew table\n{block.end}\nmore words\n"
    assert block.read(doc) == "\nnew table\n"


@pytest.mark.parametrize("text, message", [
    (None, "file not found"),
    ("no markers here\n", "no generated block"),
    ("<!-- demo-table:end -->\n<!-- demo-table:begin -->\n", "no generated block"),
])
def test_a_document_without_the_block_is_a_one_line_error(tmp_path, text, message):
    doc = tmp_path / "doc.md"
    if text is not None:
        doc.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        GeneratedBlock("demo-table").check(doc)
    assert "\n" not in str(caught.value)
