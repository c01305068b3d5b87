"""Decision engine and domain services of the authorization service."""
