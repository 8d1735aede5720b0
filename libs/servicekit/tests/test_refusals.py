"""A handler's refusal becomes the HTTP answer named for its kind, with its own words."""

import pytest
from fastapi import HTTPException
from servicekit.api import refusals


class Conflict(ValueError):
    pass


def test_a_refusal_is_answered_with_the_status_of_the_first_kind_it_is():
    with pytest.raises(HTTPException) as caught, refusals({Conflict: 409, ValueError: 422}):
        raise Conflict("already recorded")
    assert (caught.value.status_code, caught.value.detail) == (409, "already recorded")
    with pytest.raises(HTTPException) as caught, refusals({Conflict: 409, ValueError: 422}):
        raise ValueError("not a course")
    assert caught.value.status_code == 422


def test_anything_not_named_goes_on_as_it_is():
    with pytest.raises(KeyError), refusals({Conflict: 409}):
        raise KeyError("a bug, not a refusal")
    with refusals({Conflict: 409}):
        pass
