import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kdhelpers import book, profiles, status

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [n for k, n in book.NOTEBOOKS.items()]


@pytest.mark.parametrize("name", CHAPTERS)
def test_notebook_has_parameters_colab_cell_and_stated_profile(name):
    nb = nbformat.read(ROOT / "book" / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "google.colab" in code[0].source
    # Colab installs from the repository the book's launch buttons point at
    url = re.search(r"^  url: (\S+)$", (ROOT / "_config.yml").read_text(), re.M).group(1)
    assert f'"git", "clone", "--depth", "1", "{url}.git"' in code[0].source
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and re.search(r'^profile = "', params[0].source, re.M)
    assert all(c.get("execution_count") for c in code), "commit notebooks executed"
    # the page shows figures and tables first: code folds (or is removed), papermill's
    # injected cell included
    assert all({"hide-input", "remove-input", "remove-cell"} & set(c.metadata.get("tags", []))
               for c in code)
    outputs = "".join(o.get("text", "") or o.get("data", {}).get("text/markdown", "")
                      for c in code for o in c.get("outputs", []))
    assert re.search(r"profile: (%s)" % "|".join(profiles.PROFILES), outputs)


@pytest.mark.parametrize("name", CHAPTERS[:-1])
def test_chapter_calls_kdhelpers_only(name):
    """No model, loss or training loop inline: those live in kdhelpers."""
    source = "\n".join(c.source for c in nbformat.read(ROOT / "book" / name, 4).cells
                       if c.cell_type == "code")
    for forbidden in ("keras.layers", ".fit(", "GradientTape", "def loss", "Sequential("):
        assert forbidden not in source


def test_every_notebook_is_in_the_toc_under_its_part():
    import yaml

    from kdhelpers import chapters

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {part["caption"]: [c["file"] for c in part["chapters"]] for part in toc["parts"]}
    for chapter in chapters.CHAPTERS:
        assert chapter.notebook.removesuffix(".ipynb") in files[chapters.PARTS[chapter.part]]
    listed = [c.notebook for c in chapters.CHAPTERS if c.builder]
    in_toc = [f + ".ipynb" for caption in ("Experiments", "Beyond the paper") for f in files[caption]]
    assert in_toc == listed  # same order
    assert (ROOT / "book" / "_toc.yml").resolve() == (ROOT / "_toc.yml").resolve()
    assert (ROOT / "book" / "_config.yml").resolve() == (ROOT / "_config.yml").resolve()


def test_book_builds_without_warnings_with_the_exact_command(tmp_path):
    """`jupyter-book build book/` from the repository root, with -W, on a copy of the repo."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, symlinks=True,
                    ignore=shutil.ignore_patterns(".venv", "_build", "artifacts", ".git"))
    exe = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(exe), "build", "book/", "-W", "-n", "--keep-going"], cwd=copy,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    html = copy / "book" / "_build" / "html"
    for name in CHAPTERS:
        page = (html / name.replace(".ipynb", ".html")).read_text()
        colab = re.findall(r'https://colab\.research\.google\.com/github/[^"]+', page)
        assert colab and all(link.endswith(f"/blob/main/book/{name}") for link in colab), colab
    assert "math notranslate" in (html / "problem.html").read_text()
    summary = (html / "summary.html").read_text()
    assert "<table" in summary and "|---|" not in summary  # notebook Markdown tables render
    # what a reader would notice: a Python object's repr instead of text (a Markdown glue
    # used with {glue:text}, a figure returned instead of shown)
    for page in html.glob("*.html"):
        reprs = re.findall(r"&lt;[\w.]+ object(?: at 0x[0-9a-f]+)?&gt;", page.read_text())
        assert not reprs, f"{page.name}: {reprs}"
        # nothing refers to a figure by number; a count across pages put "Fig. 2" under a
        # page's only figure (numfig: false, which sphinx-jupyterbook-latex would turn back on)
        assert 'class="caption-number"' not in page.read_text(), page.name


def test_unknown_notebook_is_rejected():
    with pytest.raises(ValueError, match="--only 'exp9'"):
        book.selected(["exp9"])
    assert book.selected(["exp2"]) == ["exp2", "summary", "reproducibility"]
    assert book.selected(["exp3", "exp2"], summary=False) == ["exp2", "exp3"]
    assert book.selected(["summary"], summary=False) == ["summary"]
    assert book.selected(None)[-2:] == ["summary", "reproducibility"]
    assert len(book.selected(None)) == len(book.NOTEBOOKS)


def test_status_page_lists_every_notebook(tmp_path):
    record = {"notebook": "exp1_mnist.ipynb", "profile": "smoke", "executed": "2026-01-01T00:00:00",
              "wall_seconds": 3.0, "backend": "tensorflow", "versions": {"keras": "3"},
              "code": {"commit": "abc", "dirty": False}, "machine": "x86_64", "cpu_count": 2}
    status.write_status({"exp1": record}, tmp_path / "s.json", tmp_path / "s.md", tmp_path / "store")
    text = (tmp_path / "s.md").read_text()
    assert "| exp1_mnist | smoke | 2026-01-01<br>00:00 |" in text and "| summary | not executed" in text
    assert json.loads((tmp_path / "s.json").read_text())["exp1"]["profile"] == "smoke"
    # one environment: said once above the table, not repeated on every row
    assert "the same environment: Keras' tensorflow backend on 2 × x86_64 CPUs; keras 3." in text
    assert "| environment |" not in text
    other = dict(record, notebook="exp2_alpha_temperature.ipynb", versions={"keras": "4"})
    status.write_status({"exp1": record, "exp2": other}, tmp_path / "s.json", tmp_path / "s.md",
                      tmp_path / "store")
    text = (tmp_path / "s.md").read_text()
    assert "the same environment" not in text and "| environment |" in text
    assert "| `abc` | Keras' tensorflow backend on 2 × x86_64 CPUs<br>keras 4 |" in text


def test_profile_environment_override(monkeypatch):
    monkeypatch.setenv(profiles.PROFILE_ENV, "cpu")
    assert profiles.resolve("exp2", "smoke")["profile"] == "cpu"
    monkeypatch.setenv(profiles.PROFILE_ENV, "gpu")
    with pytest.raises(ValueError, match="profile='gpu'"):
        profiles.resolve("exp2", "smoke")


def test_profile_overrides_are_checked():
    s = profiles.resolve("exp3", "smoke", fractions=[0.5], student={"epochs": 7})
    assert s["fractions"] == [0.5] and s["student"]["epochs"] == 7
    with pytest.raises(ValueError, match="unknown setting 'fractionz'"):
        profiles.resolve("exp3", "smoke", fractionz=[0.5])
    with pytest.raises(ValueError, match=r"unknown keys \['epoch'\]"):
        profiles.resolve("exp3", "smoke", student={"epoch": 7})


def test_status_page_sums_the_training_time_behind_each_profile(tmp_path):
    results = tmp_path / "store" / "results" / "cpu"
    results.mkdir(parents=True)
    for name, runs in {"exp2": {"teacher": 3600.0, "a": 900.0}, "exp3": {"teacher": 3600.0, "b": 900.0},
                       "exp7": {"teacher": 3600.0, "c": 1800.0}}.items():
        (results / f"{name}.json").write_text(json.dumps({"runs": runs}))
    cost = status.training_cost(results)
    assert cost["chapters"]["exp2"] == {"runs": 2, "train_seconds": 4500.0}
    assert cost["paper_chapters"] == {"runs": 3, "train_seconds": 5400.0}  # teacher once
    assert cost["all"] == {"runs": 4, "train_seconds": 7200.0}
    for run_id, metrics in {"a": {"resumed_at_epochs": [3], "machine": {"cpu": "Y"},
                                  "segments": [{"cpu": "X"}, {"cpu": "Y"}]},
                            "b": {"resumed_at_epochs": [], "machine": {"cpu": "Y"}}}.items():
        (tmp_path / "store" / run_id).mkdir()
        (tmp_path / "store" / run_id / "metrics.json").write_text(json.dumps(metrics))
    assert status.interruptions(results) == {"runs": 4, "resumed": 1, "unread": 2,
                                           "cpus": ["X", "Y"]}
    record = {"notebook": "exp2_alpha_temperature.ipynb", "profile": "cpu", "executed": "x",
              "wall_seconds": 3.0, "backend": "tensorflow", "versions": {"keras": "3"},
              "code": {"commit": "abc", "dirty": False}, "machine": "x86_64", "cpu_count": 2}
    status.write_status({"exp2": record}, tmp_path / "s.json", tmp_path / "s.md", tmp_path / "store")
    text = (tmp_path / "s.md").read_text()
    assert "## Compute behind the `cpu` results" in text
    assert "| the paper's chapters (1–6) together | 3 | 1.50 h |" in text
    assert "| every chapter together | 4 | 2.00 h |" in text
    # without a chapter beyond the paper the two totals are one row, not a repeated one
    (results / "exp7.json").unlink()
    status.write_status({"exp2": record}, tmp_path / "s.json", tmp_path / "s.md", tmp_path / "store")
    text = (tmp_path / "s.md").read_text()
    assert "| the paper's chapters (1–6) together | 3 | 1.50 h |" in text
    assert "every chapter together" not in text


def test_a_failed_execution_never_replaces_the_executed_chapter(tmp_path, monkeypatch):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("profile = 'smoke'", metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_code_cell("print('executed before')"),
                      nbformat.v4.new_code_cell("raise RuntimeError('boom')")]
    path = tmp_path / "broken.ipynb"
    nbformat.write(notebook, path)
    before = path.read_bytes()
    monkeypatch.setitem(book.NOTEBOOKS, "broken", "broken.ipynb")
    with pytest.raises(book.ChapterFailed, match="broken.ipynb failed at profile smoke"):
        book.execute("broken", "smoke", book_dir=tmp_path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["broken.ipynb"]


def test_an_executed_chapter_folds_papermills_injected_cell(tmp_path, monkeypatch):
    import nbformat

    notebook = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
    notebook.cells = [nbformat.v4.new_code_cell("profile = 'smoke'", metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_code_cell("print(profile)")]
    nbformat.write(notebook, tmp_path / "tiny.ipynb")
    monkeypatch.setitem(book.NOTEBOOKS, "tiny", "tiny.ipynb")
    record = book.execute("tiny", "cpu", book_dir=tmp_path)
    cells = nbformat.read(tmp_path / "tiny.ipynb", as_version=4).cells
    injected = [c for c in cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and {"remove-cell", "nbval-skip"} <= set(injected[0].metadata.tags)
    assert cells[-1].outputs[0]["text"] == "cpu\n" and record["profile"] == "cpu"


def test_status_page_reports_a_failed_execution(tmp_path):
    failed = {"notebook": "exp2_alpha_temperature.ipynb", "profile": "cpu",
              "failed": "RuntimeError: boom", "executed": "2026-01-01T00:00:00Z"}
    status.write_status({"exp2": {"failed_run": failed}}, tmp_path / "s.json", tmp_path / "s.md",
                      tmp_path / "store")
    text = (tmp_path / "s.md").read_text()
    assert "failed (RuntimeError: boom)" in text and "| exp2_alpha_temperature | not executed" in text


def test_bogus_profile_from_the_environment_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setenv("KDHELPERS_PROFILE", "bogus")
    with pytest.raises(SystemExit) as exit_info:
        book.main(["run", "--only", "exp1"])
    assert exit_info.value.code == 2 and "profile='bogus'" in capsys.readouterr().err


def test_a_chapter_executes_with_other_parameters_and_the_status_says_which(tmp_path, monkeypatch):
    import nbformat

    notebook = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
    notebook.cells = [nbformat.v4.new_code_cell("profile = 'smoke'\nseeds = None",
                                                metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_code_cell("print(profile, seeds)")]
    nbformat.write(notebook, tmp_path / "tiny.ipynb")
    monkeypatch.setitem(book.NOTEBOOKS, "tiny", "tiny.ipynb")
    overrides = book.parse_overrides(["seeds=[1, 2, 3]"])
    record = book.execute("tiny", "cpu", book_dir=tmp_path, overrides=overrides)
    cells = nbformat.read(tmp_path / "tiny.ipynb", as_version=4).cells
    assert cells[-1].outputs[0]["text"] == "cpu [1, 2, 3]\n"
    assert record["overrides"] == {"seeds": [1, 2, 3]}
    status.write_status({"tiny": record}, tmp_path / "s.json", tmp_path / "s.md", tmp_path / "store")
    assert "| cpu<br>seeds 1, 2, 3 |" in (tmp_path / "s.md").read_text()


@pytest.mark.parametrize("item", ["seeds", "profile=cpu", "1x=2"])
def test_a_bad_parameter_names_itself_and_the_form_expected(item):
    with pytest.raises(ValueError, match=f"--param {item!r}: expected NAME=VALUE"):
        book.parse_overrides([item])


def test_ci_reruns_every_committed_notebook_at_its_own_defaults():
    """nbval skips papermill's injected cell: overrides made for the executed profile (e.g.
    chapter 3's seeds and fractions at converged) are not replayed at smoke."""
    import nbformat

    for path in sorted(book.BOOK_DIR.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            tags = cell.metadata.get("tags", [])
            if "injected-parameters" in tags:
                assert "nbval-skip" in tags, f"{path.name}: its injected cell would run in CI"
