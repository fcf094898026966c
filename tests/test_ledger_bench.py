"""The ledger benchmark runs its three readers side by side on a small ledger (figures are the
benchmark's business; this only proves the command works and the readers agree)."""

from __future__ import annotations

from benchmarks.ledger_bench import main


def test_the_three_readers_import_the_same_ledger(tmp_path, capsys):
    main(["--projects", "30", "--keep", str(tmp_path)])
    out = capsys.readouterr().out
    for step in (
        "import .xlsx, calamine",
        "import .xlsx, openpyxl",
        "import .csv",
        "completion report",
        "daily reminder plan",
    ):
        assert step in out
    assert out.count("peak RSS") == 4 and "30 projects" in out.replace(",", "")
