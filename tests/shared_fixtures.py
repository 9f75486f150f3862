"""The realistic inputs in ../shared/fixtures, found beside the checkout (CI clones the
repository next to shared/, as on a developer's machine)."""

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


def hostile_inputs(*, printable_only: bool = False) -> list[str]:
    """The hostile-strings corpus; ``printable_only`` drops NUL-bearing and blank ones
    (those never reach a page: the NUL guard answers 400)."""
    corpus = json.loads((FIXTURES / "hostile-inputs.json").read_text())
    return [s for s in corpus if "\x00" not in s and s.strip()] if printable_only else corpus
