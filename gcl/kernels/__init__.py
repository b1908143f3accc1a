"""Contrastive kernels."""

__all__: list[str] = []
