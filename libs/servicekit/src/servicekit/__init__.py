"""Shared plumbing of every service of the platform, written once.

settings      ServiceSettings, read from the environment
database      engine, session factory and the unit of work (explicit commit)
outbox        events written in the same transaction as the state, and the relay
inbox         processed event ids, recorded in the same transaction as the effect
consumer      FastStream subscriptions with explicit ack policy and dead letters
telemetry     OpenTelemetry traces, metrics and structured logs without personal data
auth          bearer JWTs, roles and sites; a development token issuer
service       one runner: HTTP API, consumers and background loops in one process
"""
