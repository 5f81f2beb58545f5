"""Corpus: sweep config files a careless or hostile user could give ``msmix sweep``, each refused
with one line naming the file and what was expected, before any run starts."""

from __future__ import annotations

import json
from pathlib import Path

from corpus import Case, check, parametrize
from said import said

VALID = 'data = "toy"\nbackbones = ["lmf"]\nmixers = ["none"]\n'


def _toml(text: str, *extra: str, name: str = "sweep.toml"):
    """A case writing ``text`` to ``name`` and running ``msmix sweep`` on it (a dry run unless ``extra`` says)."""
    def make(folder: Path) -> list[str]:
        (folder / name).write_text(text, encoding="utf-8")
        return ["sweep", str(folder / name), "--out", str(folder / "out"), *(extra or ["--dry-run"])]
    return make


def _bytes(data: bytes, name: str):
    def make(folder: Path) -> list[str]:
        (folder / name).write_bytes(data)
        return ["sweep", str(folder / name), "--out", str(folder / "out"), "--dry-run"]
    return make


def _grid_of_runs(count_per_axis: int):
    """Seeds, lr and weight_decay lists whose product is ``count_per_axis ** 3`` runs, from a small file."""
    values = list(range(1, count_per_axis + 1))
    text = VALID + f"seeds = {values}\n[train]\nlr = {[v / 1e4 for v in values]}\nweight_decay = {[v / 1e6 for v in values]}\n"
    return _toml(text)


def _results_folder(folder: Path) -> list[str]:
    (folder / "sweep.toml").write_text(VALID)
    (folder / "out" / "results.csv").mkdir(parents=True)
    return ["sweep", str(folder / "sweep.toml"), "--out", str(folder / "out"), "--quiet", "--threads", "1"]


def _out_is_a_file(folder: Path) -> list[str]:
    (folder / "sweep.toml").write_text(VALID)
    (folder / "out").write_text("not a folder")
    return ["sweep", str(folder / "sweep.toml"), "--out", str(folder / "out"), "--quiet", "--threads", "1"]


def _out_dir_a_number(folder: Path) -> list[str]:
    (folder / "sweep.toml").write_text(VALID + "out_dir = 5\n")
    return ["sweep", str(folder / "sweep.toml"), "--dry-run"]


def _config_is_a_folder(folder: Path) -> list[str]:
    (folder / "sweep.toml").mkdir()
    return ["sweep", str(folder / "sweep.toml"), "--out", str(folder / "out")]


CASES: list[Case] = [
    Case("sweep_latin1_file", _bytes(VALID.encode() + "# café\n".encode("latin-1"), "sweep.toml"),
         said("sweep", "sweep config {dir}/sweep.toml, line 4: expected UTF-8 text, found the byte 0xe9 (save the file as UTF-8)")),
    Case("sweep_not_toml", _toml("this is = = not toml\n"),
         said("sweep", "sweep config {dir}/sweep.toml is not valid TOML: ", tail=r".+ \(at line 1, column \d+\)")),
    Case("sweep_not_json", _bytes(b'{"data": "toy"', "sweep.json"),
         said("sweep", "sweep config {dir}/sweep.json is not valid JSON: ", tail=r".+: line 1 column 15 \(char 14\)")),
    Case("sweep_json_list", _bytes(json.dumps(["toy", "lmf"]).encode(), "sweep.json"),
         said("sweep", "sweep config {dir}/sweep.json: expected a table of settings, found list")),
    Case("sweep_json_nested_too_deeply", _bytes(b"[" * 100_000 + b"]" * 100_000, "sweep.json"),
         said("sweep", "sweep config {dir}/sweep.json nests its tables or lists too deeply")),
    Case("sweep_yaml_suffix", _toml("data: toy\n", name="sweep.yaml"),
         said("sweep", "sweep config {dir}/sweep.yaml: expected a .toml or .json file, found '.yaml'")),
    Case("sweep_missing_file", lambda folder: ["sweep", str(folder / "missing.toml"), "--dry-run"],
         said("sweep", "sweep config {dir}/missing.toml does not exist")),
    Case("sweep_config_is_a_folder", _config_is_a_folder,
         said("sweep", "sweep config {dir}/sweep.toml is a directory, expected a .toml or .json file")),
    Case("sweep_empty_file", _toml(""),
         said("sweep", "sweep config {dir}/sweep.toml: 'data' is missing (a name or a list of names)")),
    Case("sweep_unknown_key", _toml(VALID + "epochs = 3\n"),
         said("sweep", "sweep config {dir}/sweep.toml: unknown settings ['epochs']; known: ['backbones', 'data', "
              "'data_options', 'mixer', 'mixers', 'model', 'out_dir', 'seeds', 'train']")),
    Case("sweep_unknown_train_key", _toml(VALID + "[train]\nepochs = 3\n"),
         said("sweep", "sweep config {dir}/sweep.toml: [train] (seeds go in 'seeds'): unknown settings ['epochs']; known: ",
              tail=r"\[.*'max_epochs'.*\]")),
    Case("sweep_train_value_of_wrong_type", _toml(VALID + '[train]\nmax_epochs = "five"\n'),
         said("sweep", "sweep config {dir}/sweep.toml: lmf + none: bad train setting: "
              "TrainConfig.max_epochs must be an integer >= 1, got 'five'")),
    Case("sweep_train_not_a_table", _toml(VALID + "train = 5\n"),
         said("sweep", "sweep config {dir}/sweep.toml: 'train' must be a table of settings, found 5")),
    Case("sweep_backbones_a_number", _toml('data = "toy"\nbackbones = 3\nmixers = ["none"]\n'),
         said("sweep", "sweep config {dir}/sweep.toml: 'backbones' must be a name or a non-empty list of names, found 3")),
    Case("sweep_no_mixers", _toml('data = "toy"\nbackbones = ["lmf"]\nmixers = []\n'),
         said("sweep", "sweep config {dir}/sweep.toml: 'mixers' must be a name or a non-empty list of names, found []")),
    Case("sweep_no_seeds", _toml(VALID + "seeds = []\n"),
         said("sweep", "sweep config {dir}/sweep.toml: 'seeds' must be an integer >= 0 or a non-empty list of them, found []")),
    Case("sweep_negative_seed", _toml(VALID + "seeds = [1, -2]\n"),
         said("sweep", "sweep config {dir}/sweep.toml: 'seeds' must be an integer >= 0 or a non-empty list of them, found [1, -2]")),
    Case("sweep_empty_setting_list", _toml(VALID + "[train]\nlr = []\n"),
         said("sweep", "sweep config {dir}/sweep.toml: setting 'lr' has an empty list of values")),
    Case("sweep_mixer_listed_twice", _toml('data = "toy"\nbackbones = ["lmf"]\nmixers = ["none", "none"]\n'),
         said("sweep", "sweep config {dir}/sweep.toml: 'mixers' lists none more than once")),
    Case("sweep_value_listed_twice", _toml('data = "toy"\nbackbones = ["lmf"]\nmixers = ["msmix"]\n[mixer.msmix]\nthreshold = [0.2, 0.2]\n'),
         said("sweep", "sweep config {dir}/sweep.toml: the grid holds the run toy lmf-msmix s1111 with the same settings "
              "twice; a list of values repeats a value")),
    Case("sweep_whole_split_twice", _toml(VALID + "[train]\ntrain_fraction = [1, 1.0]\n"),
         said("sweep", "sweep config {dir}/sweep.toml: the grid holds the run toy lmf-none s1111 with the same settings "
              "twice; a list of values repeats a value")),
    Case("sweep_table_of_an_absent_mixer", _toml(VALID + "[mixer.msmix]\nthreshold = 0.2\n"),
         said("sweep", "sweep config {dir}/sweep.toml: a table [mixer.msmix] but 'msmix' is not among mixers ['none']")),
    Case("sweep_unknown_backbone", _toml('data = "toy"\nbackbones = ["gpt"]\nmixers = ["none"]\n'),
         said("sweep", "sweep config {dir}/sweep.toml: unknown backbone 'gpt'; available: ", tail=r"[a-z, ]*lmf[a-z, ]*")),
    Case("sweep_hundred_million_runs", _grid_of_runs(464),
         said("sweep", "sweep config {dir}/sweep.toml: the grid holds 99,897,344 runs, more than the 100,000 a sweep "
              "may hold; shorten its lists of values")),
    Case("sweep_out_dir_a_number", _out_dir_a_number,
         said("sweep", "sweep config {dir}/sweep.toml: 'out_dir' must be a folder name, found 5")),
    Case("sweep_results_table_is_a_folder", _results_folder,
         said("sweep", "results table {dir}/out/results.csv is a directory, expected a CSV file")),
    Case("sweep_out_is_a_file", _out_is_a_file,
         said("sweep", "output folder {dir}/out is a file, expected a folder")),
]


@parametrize(CASES)
def test_case_fails_with_one_clear_line(case, tmp_path, capsys):
    check(case, tmp_path, capsys)
