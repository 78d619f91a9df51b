"""book/_ext/typographic_minus.py: negative numbers in the book's prose and tables get U+2212,
as matplotlib prints them on the figures; code, printed output and math keep what they say."""

import importlib.util
from pathlib import Path

import yaml
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("typographic_minus", ROOT / "book/_ext/typographic_minus.py")
typographic_minus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(typographic_minus)


def test_negative_numbers_get_a_minus_and_nothing_else_does():
    fix = typographic_minus.typographic_minus
    assert fix("-5.78 [-6.54, -5.0302]") == "\u22125.78 [\u22126.54, \u22125.0302]"
    assert fix("(-0.7), x = -1") == "(\u22120.7), x = \u22121"
    for kept in ("10-conv", "2026-12-06", "lr 1e-3", "CIFAR-10", "chapters 1-6", "cifar_student-098e",
                 "3.-1", "--5", "- 5 seeds"):
        assert fix(kept) == kept


def test_the_page_transform_leaves_code_output_and_math_alone():
    document = new_document("page", get_default_settings(Parser))
    Parser().parse("A gain of -1.50 pp [-2.1, -0.9].\n\n::\n\n    printed -1.50\n\n"
                   ":math:`x^{-1}` and ``run-1``, then -3.\n", document)
    typographic_minus.replace_minus_signs(None, document, "page")
    paragraphs = [p.astext() for p in document.findall(nodes.paragraph)]
    assert paragraphs[0] == "A gain of \u22121.50\u00a0pp [\u22122.1, \u22120.9]."
    assert next(document.findall(nodes.literal_block)).astext() == "printed -1.50"
    assert next(document.findall(nodes.math)).astext() == "x^{-1}"
    assert paragraphs[-1].endswith("then \u22123.")


def test_a_number_keeps_its_unit_on_its_line_and_nothing_else_changes():
    nbsp = "\u00a0"
    fix = typographic_minus.unit_spaces
    assert fix("82.45 % and +1.2 pp, 95 % CI") == f"82.45{nbsp}% and +1.2{nbsp}pp, 95{nbsp}% CI"
    for kept in ("10 ppm", "a % sign", "x pp.", "5 %age"):
        assert fix(kept) == kept
    assert fix(" % against", after_number=True) == f"{nbsp}% against"
    assert fix(" % against") == " % against"


def test_a_glued_number_keeps_the_unit_after_it_on_its_line():
    document = new_document("page", get_default_settings(Parser))
    Parser().parse("reaches *82.45* % against *the 6-conv* % here.\n", document)
    typographic_minus.replace_minus_signs(None, document, "page")
    text = next(document.findall(nodes.paragraph)).astext()
    assert text == "reaches 82.45\u00a0% against the 6-conv % here."


def test_the_book_loads_the_extension():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"] == {"typographic_minus": "_ext"}
