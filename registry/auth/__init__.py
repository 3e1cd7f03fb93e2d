"""Bearer-token authorization for the registry (Distribution's registry/auth/token).

The HTTP layer computes `required_access(...)` for the matched route and calls
`TokenVerifier.authorize(...)`, which returns a `Principal` or raises `AuthChallenge`.
Nothing here imports aiohttp.web.
"""

from registry.auth.access import Access, Principal, required_access, scope_param
from registry.auth.challenge import AuthChallenge
from registry.auth.keys import KeyBundleError, TrustStore
from registry.auth.libtrust import key_id
from registry.auth.verifier import ALLOWED_ALGORITHMS, TokenVerifier

__all__ = [
    "ALLOWED_ALGORITHMS",
    "Access",
    "AuthChallenge",
    "KeyBundleError",
    "Principal",
    "TokenVerifier",
    "TrustStore",
    "key_id",
    "required_access",
    "scope_param",
]
