"""The markdown comparison prints every class and level for each preset."""

from __future__ import annotations

from ml.training.report import comparison


def result(f1: float) -> dict:
    row = {"precision": f1, "recall": f1, "f1-score": f1, "support": 10}
    level = {"table": {name: row for name in ("music", "speech", "noise", "macro avg")}}
    return {"segments": level, "files": level, "segment_ece": 0.05}


def test_the_table_has_a_column_per_preset_and_a_row_per_class():
    table = comparison({"seed": result(0.5), "cnn": result(0.8)})
    assert "| seed P / R / F1 | cnn P / R / F1 |" in table
    assert "| files | noise | 0.50 / 0.50 / **0.500** | 0.80 / 0.80 / **0.800** |" in table
    assert "mixtures" not in table  # absent from these results, so left out
