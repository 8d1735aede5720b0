"""Which Kafka and PostgreSQL the tests take: the choice alone, no engine and no server."""

from __future__ import annotations

import pytest
from pss_testkit.infra_choice import CONTAINERS, LOCAL, choose


def never_asked() -> bool:
    raise AssertionError("the engine was probed although the choice was already made")


def test_asked_by_name_is_taken_and_strict():
    assert choose({"PSS_TEST_INFRA": "containers"}, never_asked) == choose(
        {"PSS_TEST_INFRA": " Containers "}, never_asked
    )
    chosen = choose({"PSS_TEST_INFRA": "containers"}, never_asked)
    assert (chosen.path, chosen.strict) == (CONTAINERS, True)
    chosen = choose({"PSS_TEST_INFRA": "local"}, never_asked)
    assert (chosen.path, chosen.strict) == (LOCAL, True)


def test_an_engine_that_answers_means_containers_with_the_launcher_to_fall_back_on():
    chosen = choose({}, lambda: True)
    assert (chosen.path, chosen.strict) == (CONTAINERS, False)


def test_no_engine_means_the_local_launcher_as_on_ci():
    chosen = choose({}, lambda: False)
    assert chosen.path == LOCAL and "no Docker engine" in chosen.why


def test_an_existing_broker_and_server_win_over_an_engine():
    env = {"KAFKA_BOOTSTRAP_SERVERS": "kafka:9092", "PSS_ADMIN_DATABASE_URL": "postgresql://x@db/postgres"}
    assert choose(env, never_asked).path == LOCAL


def test_a_misspelt_choice_is_refused_with_the_words_that_work():
    with pytest.raises(ValueError, match="'local' or 'containers'"):
        choose({"PSS_TEST_INFRA": "docker"}, never_asked)
