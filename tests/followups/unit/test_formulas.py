"""Formula injection: which text a spreadsheet would run, and where in a nested input it is."""

import pytest

from services.followups.domain.formulas import formula_fields, is_formula
from services.followups.domain.parties import ClientInput


@pytest.mark.parametrize("text", ["=1+1", "=cmd|' /C calc'!A0", "+SUM(A1)", "-A1", "@SUM(1)", "\t=1", "\r=1",
                                  "-", "+", "-2+3+cmd|' /C calc'!A0"])
def test_text_a_spreadsheet_would_run_as_a_formula(text: str) -> None:
    assert is_formula(text)


@pytest.mark.parametrize("text", ["Dupont SA", "-12", "-12,50", "+33 1 23 45 67 89", "+44 (0)20 7946 0000",
                                  "1-2", "a=b", "mail@example.com", ""])
def test_text_and_signed_numbers_are_not_formulas(text: str) -> None:
    assert not is_formula(text)


def test_the_paths_of_formulas_in_a_nested_input() -> None:
    client = ClientInput(number="=1", name="Dupont", language="fr", currency="EUR", collector_id="u-col",
                         contacts=[{"contact_id": "k1", "name": "@x", "phone": "+33 1 23", "is_primary": True}])
    assert formula_fields(client) == ["contacts.0.name", "number"]
