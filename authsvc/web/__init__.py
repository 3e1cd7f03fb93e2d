"""The account page: sign-in (OpenID Connect or password) and self-service credentials."""
