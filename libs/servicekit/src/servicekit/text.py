"""Text a person typed (a site's name, a label, how to address someone). One definition,
so every API refuses the same things: control characters, which PostgreSQL cannot store
(NUL) or which do not belong in a single line. Pydantic already refuses lone surrogates.

Use as ``Annotated[str, PRINTABLE_LINE, Field(min_length=1, max_length=120)]``.
"""

from __future__ import annotations

from pydantic import StringConstraints

PRINTABLE_LINE = StringConstraints(strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]*$")
