"""Authorization: an identity and the requested scopes in, per-scope grants out.

The ``Authorizer`` protocol (docker_auth's ``authz`` interface) has one implementation, the
ordered ACL (``AclAuthorizer``) over a ``RuleSource``; ``AccessDecider`` adds the service check
and the merge into the token's ``access`` claim. The token endpoint and ``authsvc acl check``
both decide through an ``AccessDecider``, so the CLI explains exactly what the endpoint does.
"""

from authsvc.authz.acl_authorizer import AclAuthorizer
from authsvc.authz.decider import AccessDecider, AccessDecision
from authsvc.authz.grants import AccessEntry, merge_grants
from authsvc.authz.rules import CachedRuleSource, RuleSource, SqlRuleSource
from authsvc.authz.types import Authorizer, ScopeGrant

__all__ = [
    "AccessDecider",
    "AccessDecision",
    "AccessEntry",
    "AclAuthorizer",
    "Authorizer",
    "CachedRuleSource",
    "RuleSource",
    "ScopeGrant",
    "SqlRuleSource",
    "merge_grants",
]
