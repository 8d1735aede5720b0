# Fixtures for tests on real Kafka and PostgreSQL live in one place, used by every suite.
pytest_plugins = ["pss_testkit.testing"]
