"""The JSON HTTP API under ``/api/v1/``: automation calls the same service layer as the CLI."""
