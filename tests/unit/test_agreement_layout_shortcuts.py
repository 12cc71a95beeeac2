"""What the agreement renderer does to WeasyPrint to lay an agreement out sooner changes
nothing in the PDF: the user-agent stylesheet loses only rules an agreement never uses,
and each PDF object is serialised once with the same bytes as before."""

from __future__ import annotations

import io
import logging

import pydyf
from weasyprint.html import UA, UA_STYLESHEET

from portal.agreements.render import _html_class, _serialise_once, lean_user_agent_css


def test_the_lean_stylesheet_differs_only_in_pseudo_element_rules():
    lean = lean_user_agent_css(UA)

    assert lean is not None
    stock_lines = UA.splitlines()
    lean_lines = lean.splitlines()
    assert "li::marker {" + UA.split("\n::marker {", 1)[1].split("\n", 1)[0] in lean_lines
    removed = [line for line in stock_lines if line not in lean_lines]
    assert all(line.startswith(("::marker", "::footnote-", "::note-")) for line in removed), removed
    assert len(removed) == 6
    assert [line for line in lean_lines if line in stock_lines] == [line for line in stock_lines if line not in removed]
    assert not any(line.startswith("::") for line in lean_lines)


def test_an_unexpected_stylesheet_is_used_unchanged():
    assert lean_user_agent_css("li { display: list-item }\n") is None
    assert lean_user_agent_css(UA + "\n::marker { color: red }") is None
    assert lean_user_agent_css(UA + "\n::footnote-area { margin: 0 }") is None


def test_the_agreement_document_class_uses_the_lean_stylesheet(caplog):
    caplog.set_level(logging.WARNING)
    html = _html_class()(string="<p>x</p>")

    assert not caplog.records  # its @counter-style rules read without a complaint

    (sheet,) = html._ua_stylesheets()
    assert sheet is not UA_STYLESHEET
    assert html._ua_stylesheets(forms=True)[0] is sheet


def written(pdf: pydyf.PDF) -> bytes:
    output = io.BytesIO()
    pdf.write(output, b"1.7", b"agreement", compress=True)
    return output.getvalue()


def sample_pdf() -> pydyf.PDF:
    pdf = pydyf.PDF()
    content = pydyf.Stream([b"BT /F1 10 Tf 72 712 Td [(Repayment agreement)] TJ ET"] * 50, compress=True)
    pdf.add_object(content)
    pdf.add_page(pydyf.Dictionary({"Type": "/Page", "Parent": pdf.pages.reference, "Contents": content.reference}))
    pdf.add_object(pydyf.Array([pydyf.String("名字"), 1.5, pydyf.Dictionary({"A": 1})]))
    return pdf


def test_objects_serialised_once_write_the_same_bytes():
    pdf = sample_pdf()
    _serialise_once(None, pdf)
    _serialise_once(None, pdf)  # already kept: nothing changes

    assert all(type(obj).__name__ == type(obj).__mro__[1].__name__ for obj in pdf.objects[1:])
    assert written(pdf) == written(sample_pdf())
