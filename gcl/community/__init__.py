"""Community detection (filled by the community issue)."""

__all__: list[str] = []
