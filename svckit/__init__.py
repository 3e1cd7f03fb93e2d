"""Small helpers that both services import: one cache type and settings parsing.

Like ``httplog``, this package imports neither ``authsvc`` nor ``registry``, so the registry
still deploys without SQLAlchemy or passlib, and the two services cannot drift apart on how a
boolean or a ``host:port`` is read.
"""
