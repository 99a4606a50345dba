import pytest

from rgdata.cli import main


def test_cli_lists_datasets(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("retina", "stocks", "ftse100"):
        assert name in out


def test_cli_rejects_unknown_dataset(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--dataset", "nope"])
    assert exc.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
