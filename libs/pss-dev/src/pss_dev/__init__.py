"""The local development environment of the peer support platform."""
