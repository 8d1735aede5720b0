"""Personal data at rest: sealed, and readable across a key rotation."""

import pytest
from servicekit.vault import PersonalDataVault


def test_sealed_data_does_not_contain_the_plain_text():
    vault = PersonalDataVault(PersonalDataVault.new_key())
    sealed = vault.seal("Alex Example")
    assert b"Alex" not in sealed
    assert vault.open(sealed) == "Alex Example"


def test_a_rotated_key_still_opens_old_data_and_rotation_moves_it_to_the_new_key():
    old = PersonalDataVault.new_key()
    new = PersonalDataVault.new_key()
    sealed_before = PersonalDataVault(old).seal("+1 555 0100")
    rotated_vault = PersonalDataVault(f"{new},{old}")
    assert rotated_vault.open(sealed_before) == "+1 555 0100"
    moved = rotated_vault.rotate(sealed_before)
    assert PersonalDataVault(new).open(moved) == "+1 555 0100"  # the old key can now be retired


def test_data_sealed_under_an_unknown_key_is_refused():
    sealed = PersonalDataVault(PersonalDataVault.new_key()).seal("x")
    with pytest.raises(ValueError, match="could not be decrypted"):
        PersonalDataVault(PersonalDataVault.new_key()).open(sealed)


def test_intake_refuses_to_run_without_a_key():
    with pytest.raises(ValueError, match="PERSONAL_DATA_KEYS"):
        PersonalDataVault("")
